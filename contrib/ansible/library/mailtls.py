#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module wrapping the mailtls binary: harden a mail server's TLS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mailtls
short_description: Harden the TLS of a mail server with mailtls
description:
  - Runs C(mailtls apply --yes --json) (or C(--check) in check mode) from PATH.
  - Diff mode returns each changed file's content before and after.
  - Idempotent: a compliant server reports C(changed=false) and is not touched.
  - A failed live verification is rolled back by mailtls and fails the task with its message.
options:
  mta: {type: str, description: Mail server (postfix). Default is the one installed.}
  config: {type: path, description: The instance's config (Postfix config directory).}
  profile: {type: str, default: intermediate, description: Bundled profile name or a TOML file.}
  cert: {type: path, description: Certificate (PEM) to install; needs key.}
  key: {type: path, description: Private key (PEM) matching cert.}
  state_dir: {type: path, description: mailtls state directory (backups, journal).}
  reload_command: {type: str, description: Command that reloads the server instead of its own.}
  binary: {type: path, default: mailtls, description: The mailtls executable.}
"""

EXAMPLES = r"""
- name: Harden Postfix TLS
  mailtls:
    profile: intermediate
    cert: /etc/ssl/mail/fullchain.pem
    key: /etc/ssl/mail/privkey.pem
"""

import json

from ansible.module_utils.basic import AnsibleModule

# mailtls exit codes (README.md).
OK, ERROR, CHANGES_PENDING, ROLLED_BACK = 0, 1, 2, 3


def build_command(module, binary):
    p = module.params
    cmd = [binary, "--json", "--yes"]
    if p["state_dir"]:
        cmd += ["--state-dir", p["state_dir"]]
    cmd.append("apply")
    for option in ("mta", "config", "profile", "cert", "key", "reload_command"):
        if p[option]:
            cmd += ["--" + option.replace("_", "-"), p[option]]
    if module.check_mode:
        cmd.append("--check")
    return cmd


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mta=dict(type="str"),
            config=dict(type="path"),
            profile=dict(type="str", default="intermediate"),
            cert=dict(type="path"),
            key=dict(type="path", no_log=False),
            state_dir=dict(type="path"),
            reload_command=dict(type="str"),
            binary=dict(type="path", default="mailtls"),
        ),
        required_together=[["cert", "key"]],
        supports_check_mode=True,
    )
    binary = module.get_bin_path(module.params["binary"], required=True)
    cmd = build_command(module, binary)
    rc, out, err = module.run_command(cmd)
    try:
        result = json.loads(out) if out.strip() else {}
    except ValueError:
        module.fail_json(msg="mailtls printed no JSON", rc=rc, stdout=out, stderr=err, cmd=cmd)

    if rc not in (OK, CHANGES_PENDING):
        message = result.get("error") or err.strip().splitlines()[-1:] or ["mailtls failed"]
        if isinstance(message, list):
            message = message[0]
        module.fail_json(msg=message, rc=rc, rolled_back=(rc == ROLLED_BACK), stderr=err, mailtls=result, cmd=cmd)

    response = dict(
        changed=bool(result.get("changed")),
        backup_id=result.get("backup_id"),
        files=result.get("files", []),
        settings=result.get("settings", []),
        verified=result.get("verified"),
        warnings_from_mailtls=result.get("warnings", []),
        exit_code=rc,
    )
    if module._diff and result.get("file_diffs"):
        # Ansible renders each file's before/after as its own unified diff.
        response["diff"] = [
            dict(before=f["before"], after=f["after"], before_header=f["path"], after_header=f["path"])
            for f in result["file_diffs"]
        ]
    elif module._diff and result.get("diff"):
        response["diff"] = {"prepared": result["diff"]}
    module.exit_json(**response)


if __name__ == "__main__":
    main()
