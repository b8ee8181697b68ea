#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailtls maintainers
# MIT OR Apache-2.0 (see the mailtls repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: rollback
short_description: Undo a change mailtls made, from its backup set
version_added: "0.1.0"
description:
  - Runs C(mailtls rollback --yes --json). mailtls puts the files of a backup set back byte for byte (with their
    mode and owner), reloads the servers and checks they still serve TLS.
  - Without O(backup_id) it undoes the latest change still live. With O(backup_id), a set that was already rolled
    back reports C(changed=false), so the task is idempotent.
  - mailtls refuses when someone changed a file since it wrote it, and the task fails, unless O(force=true).
  - In check mode it reads C(mailtls history) and reports which set it would restore, changing nothing.
author:
  - mailtls maintainers (!UNKNOWN)
options:
  backup_id:
    description:
      - The backup set to restore, as RV(mailtls.mailtls.harden#module:backup_id) or C(mailtls history) gives it.
      - By default the latest change still live.
    type: str
  force:
    description:
      - Restore even when a file was changed by someone since mailtls wrote it.
    type: bool
    default: false
extends_documentation_fragment:
  - mailtls.mailtls.common
  - mailtls.mailtls.common.state
attributes:
  check_mode:
    description: Reports the set it would restore and writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
seealso:
  - module: mailtls.mailtls.harden
"""

EXAMPLES = r"""
- name: Undo the latest mailtls change
  mailtls.mailtls.rollback:

- name: Undo the change a harden task made
  mailtls.mailtls.rollback:
    backup_id: "{{ hardened.backup_id }}"
  when: hardened is changed
"""

RETURN = r"""
backup_id:
  description: The backup set restored (or, in check mode, that would be); null when there was nothing to restore.
  returned: always
  type: str
  sample: "20261201T031500.123Z"
restored:
  description: The files put back.
  returned: changed and not in check mode
  type: list
  elements: str
  sample: ["/etc/postfix/main.cf"]
reloaded:
  description: Whether a server was reloaded.
  returned: changed and not in check mode
  type: bool
  sample: true
verified:
  description: True when the servers serve TLS after the rollback; null when not checked.
  returned: changed and not in check mode
  type: bool
  sample: true
exit_code:
  description: The exit code of C(mailtls rollback); absent when it did not need to run.
  returned: when mailtls rollback ran
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailtls.mailtls.plugins.module_utils.mailtls import argument_spec, run_or_fail

LIVE = ("applied", "verified")


def pending_set(module):
    """The id of the set a rollback would restore, or None when there is none."""
    rc, history, cmd = run_or_fail(module, ["history"])
    sets = history.get("sets", [])
    wanted = module.params["backup_id"]
    if wanted:
        found = [s for s in sets if s.get("id") == wanted]
        if not found:
            module.fail_json(msg="no backup set %s; mailtls history lists them" % wanted)
        return wanted if found[0].get("state") != "rolled-back" or found[0].get("interrupted") else None
    # An interrupted change is undone first, whichever set it is.
    interrupted = [s for s in sets if s.get("interrupted")]
    if interrupted:
        return interrupted[-1]["id"]
    live = [s for s in sets if s.get("state") in LIVE]
    return live[-1]["id"] if live else None


def main():
    spec = argument_spec(dict(
        backup_id=dict(type="str"),
        force=dict(type="bool", default=False),
    ))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)

    target = pending_set(module)
    if target is None or module.check_mode:
        module.exit_json(changed=target is not None, backup_id=target)

    args = ["rollback"]
    if module.params["force"]:
        args.append("--force")
    if module.params["backup_id"]:
        args.append(module.params["backup_id"])
    rc, result, cmd = run_or_fail(module, args)
    module.exit_json(
        changed=True,
        backup_id=result.get("backup_id"),
        restored=result.get("restored", []),
        reloaded=result.get("reloaded"),
        verified=result.get("verified"),
        exit_code=rc,
    )


if __name__ == "__main__":
    main()
