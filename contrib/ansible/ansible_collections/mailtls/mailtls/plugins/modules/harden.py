#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailtls maintainers
# MIT OR Apache-2.0 (see the mailtls repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: harden
short_description: Harden the TLS of mail servers with mailtls
version_added: "0.1.0"
description:
  - Runs C(mailtls apply --yes --json) on the managed host. mailtls finds the mail servers, plans the config changes
    a TLS profile needs, backs the files up, writes them, reloads each server and verifies with its own STARTTLS
    probe that the server now serves the profile.
  - When verification fails, mailtls puts every file back and reloads, and the task fails with its message and
    RV(rolled_back=true).
  - Idempotent. A server that already complies reports C(changed=false) and is not touched.
  - The C(mailtls) binary must be installed on the managed host (the mailtls Debian package installs it).
author:
  - mailtls maintainers (!UNKNOWN)
options:
  mta:
    description:
      - The mail server to harden.
      - By default every supported server found on the host, in one change.
    type: str
    choices: [postfix, dovecot, exim, sendmail, opensmtpd, cyrus]
  config:
    description:
      - Server instances' configs, one per instance, as C(mailtls apply --config) takes them.
      - "Postfix: its config directory (as C(postconf -c) takes it). Dovecot: its C(dovecot.conf).
        Exim: its C(exim4.conf.template), C(conf.d) or single config. Sendmail: its C(sendmail.mc) or C(sendmail.cf).
        OpenSMTPD: its C(smtpd.conf). Cyrus: its C(imapd.conf)."
      - By default the instances found on the host.
    type: list
    elements: path
  profile:
    description:
      - A bundled profile (C(intermediate), C(modern); C(mailtls profiles) lists them) or a profile TOML file on the
        managed host.
    type: str
    default: intermediate
  listener_profiles:
    description:
      - Another profile for every listener of a kind, as C(mailtls apply --listener-profile KIND=PROFILE) does.
        Keys are C(smtp), C(submission) (587, and implicit TLS on 465), C(imap) and C(pop3); values name a
        profile. For example, with C(old) for C(smtp), port 25 stays looser while submission and IMAP keep
        O(profile).
      - A server that cannot hold one listener to another profile refuses the task and says why.
    type: dict
  exceptions:
    description:
      - Named listeners kept at another profile, each with the reason recorded in the backup's manifest and shown
        by C(mailtls history), as C(mailtls apply --except LISTENER=PROFILE:REASON) does.
    type: list
    elements: dict
    suboptions:
      listener:
        description: The listener, by service name (C(submission)), port (C(587)) or C(host:port).
        type: str
        required: true
      profile:
        description: The profile that listener is held to.
        type: str
        required: true
      reason:
        description: Why (one line), for instance C(legacy scanner on the 2nd floor).
        type: str
        required: true
  cert:
    description:
      - A new certificate (PEM, leaf first) for the servers to use. Requires O(key).
    type: path
  key:
    description:
      - The private key (PEM) matching O(cert).
    type: path
  reload_command:
    description:
      - A shell command (run by C(/bin/sh)) that reloads the servers instead of each server's own reload.
    type: str
  reload:
    description:
      - Reload the servers after writing. With C(false) the files are written but the servers keep running the old
        config and nothing is verified.
    type: bool
    default: true
  verify:
    description:
      - Probe the servers after the reload and roll back when they do not serve the profile.
    type: bool
    default: true
extends_documentation_fragment:
  - mailtls.mailtls.common
  - mailtls.mailtls.common.state
attributes:
  check_mode:
    description: Runs C(mailtls apply --check), which computes the change and writes nothing.
    support: full
  diff_mode:
    description: Returns every changed file's whole text before and after.
    support: full
notes:
  - Exit codes of mailtls map to the task's result. 0 is success, 1 is a failure with nothing changed, and 3 is a
    failed verification that was rolled back.
seealso:
  - module: mailtls.mailtls.probe
  - module: mailtls.mailtls.rollback
"""

EXAMPLES = r"""
- name: Harden every mail server on the host (Mozilla intermediate)
  mailtls.mailtls.harden:
    profile: intermediate

- name: Harden one Postfix instance and install a new certificate
  mailtls.mailtls.harden:
    mta: postfix
    config:
      - /etc/postfix
    profile: modern
    cert: /etc/letsencrypt/live/mail.example.com/fullchain.pem
    key: /etc/letsencrypt/live/mail.example.com/privkey.pem
  register: hardened

- name: Port 25 looser for old senders, one legacy printer kept on its own port with the reason recorded
  mailtls.mailtls.harden:
    profile: modern
    listener_profiles:
      smtp: intermediate
    exceptions:
      - listener: "2525"
        profile: old
        reason: office printer that speaks TLS 1.0 only

- name: Two Postfix instances (postmulti) in one change
  mailtls.mailtls.harden:
    mta: postfix
    config:
      - /etc/postfix
      - /etc/postfix-out

- name: Tell where the backup is
  ansible.builtin.debug:
    msg: "mailtls.mailtls.rollback with backup_id={{ hardened.backup_id }} undoes it"
  when: hardened is changed
"""

RETURN = r"""
backup_id:
  description: The backup set holding the original files; pass it to M(mailtls.mailtls.rollback) to undo the change.
  returned: changed and not in check mode
  type: str
  sample: "20261201T031500.123Z"
files:
  description: The files changed (or, in check mode, that would change).
  returned: always
  type: list
  elements: str
  sample: ["/etc/postfix/main.cf"]
settings:
  description: Each setting changed, with its value before (null when unset) and after.
  returned: always
  type: list
  elements: dict
  sample: [{"file": "/etc/postfix/main.cf", "name": "smtpd_tls_protocols", "before": null, "after": ">=TLSv1.2"}]
servers:
  description: Each server instance mailtls considered, whether it changed, its files and its TLS listeners.
  returned: always
  type: list
  elements: dict
  sample: [{"mta": "postfix", "instance": "/etc/postfix", "changed": true, "files": ["/etc/postfix/main.cf"],
            "listeners": [], "floors": []}]
reloaded:
  description: Whether a server was reloaded.
  returned: changed and not in check mode
  type: bool
  sample: true
verified:
  description: True when the probe confirmed the profile after the reload; null when not verified.
  returned: always
  type: bool
  sample: true
rolled_back:
  description: True when verification failed and mailtls restored the original files (the task then fails).
  returned: failed
  type: bool
  sample: false
exit_code:
  description: The exit code of mailtls.
  returned: always
  type: int
  sample: 0
cmd:
  description: The mailtls command line that ran.
  returned: always
  type: list
  elements: str
  sample: ["/usr/bin/mailtls", "--json", "--yes", "--color", "never", "apply", "--profile", "intermediate"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailtls.mailtls.plugins.module_utils.mailtls import (
    CHANGES_PENDING,
    OK,
    ROLLED_BACK,
    argument_spec,
    fail,
    option_args,
    run_mailtls,
)


def apply_args(module):
    p = module.params
    args = ["apply"] + option_args(p, ["mta"])
    for config in p["config"] or []:
        args += ["--config", config]
    args += option_args(p, ["profile", "cert", "key", "reload_command"])
    for kind, profile in sorted((p["listener_profiles"] or {}).items()):
        args += ["--listener-profile", "%s=%s" % (kind, profile)]
    for e in p["exceptions"] or []:
        args += ["--except", "%s=%s:%s" % (e["listener"], e["profile"], e["reason"])]
    if not p["reload"]:
        args.append("--no-reload")
    if not p["verify"]:
        args.append("--no-verify")
    if module.check_mode:
        args.append("--check")
    return args


def main():
    spec = argument_spec(dict(
        mta=dict(type="str", choices=["postfix", "dovecot", "exim", "sendmail", "opensmtpd", "cyrus"]),
        config=dict(type="list", elements="path"),
        profile=dict(type="str", default="intermediate"),
        listener_profiles=dict(type="dict"),
        exceptions=dict(type="list", elements="dict", options=dict(
            listener=dict(type="str", required=True),
            profile=dict(type="str", required=True),
            reason=dict(type="str", required=True),
        )),
        cert=dict(type="path"),
        key=dict(type="path", no_log=False),
        reload_command=dict(type="str"),
        reload=dict(type="bool", default=True),
        verify=dict(type="bool", default=True),
    ))
    module = AnsibleModule(
        argument_spec=spec,
        required_together=[["cert", "key"]],
        supports_check_mode=True,
    )
    rc, result, err, cmd = run_mailtls(module, apply_args(module))
    if rc not in (OK, CHANGES_PENDING):
        # A failed verification (rolled back) fails the task and says so.
        fail(module, rc, result, err, cmd, "mailtls apply failed", rolled_back=(rc == ROLLED_BACK))
    for warning in result.get("warnings", []):
        module.warn(warning)

    response = dict(
        changed=bool(result.get("changed")),
        files=result.get("files", []),
        settings=result.get("settings", []),
        servers=result.get("servers", []),
        verified=result.get("verified"),
        exit_code=rc,
        cmd=cmd,
    )
    if not module.check_mode and response["changed"]:
        response["backup_id"] = result.get("backup_id")
        response["reloaded"] = result.get("reloaded")
    if module._diff and result.get("file_diffs"):
        # Ansible shows each file's before and after as its own unified diff.
        response["diff"] = [
            dict(before=f["before"], after=f["after"], before_header=f["path"], after_header=f["path"])
            for f in result["file_diffs"]
        ]
    module.exit_json(**response)


if __name__ == "__main__":
    main()
