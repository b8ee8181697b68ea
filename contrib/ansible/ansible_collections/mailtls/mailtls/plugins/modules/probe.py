#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailtls maintainers
# MIT OR Apache-2.0 (see the mailtls repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: probe
short_description: Scan mail servers' TLS with the mailtls probe
version_added: "0.1.0"
description:
  - Runs C(mailtls probe --json) on the host the task runs on (delegate it to scan from the controller) and returns
    the probe's JSON document. That document has one entry per target in RV(targets) and one summary line per target
    in RV(summary).
  - It reports protocols and cipher suites accepted, key exchange groups, the certificate and findings, for SMTP,
    IMAP and POP3 STARTTLS or implicit TLS. With O(profile) it also says whether each target complies.
  - Read-only. It never reports a change, and it runs in check mode too.
  - A target that does not comply or cannot be scanned does not fail the task (see O(fail_on_noncompliant)). An
    error of mailtls itself, such as a bad target or profile, does.
author:
  - mailtls maintainers (!UNKNOWN)
options:
  targets:
    description:
      - Targets as C(host[:port]). The port picks the dialogue when O(starttls=auto)
        (25/587 SMTP, 465/993/995 implicit TLS, 143 IMAP, 110 POP3).
      - At least one of O(targets) and O(targets_in) is required.
    type: list
    elements: str
  targets_in:
    description:
      - A file on the host with more targets, one per line (blank lines and C(#) comments allowed).
    type: path
  starttls:
    description:
      - How TLS starts.
    type: str
    choices: [auto, smtp, imap, pop3, none]
    default: auto
  profile:
    description:
      - Judge every target against this profile (bundled name or TOML file); sets RV(compliant).
    type: str
  servername:
    description:
      - The name for SNI and the certificate's hostname check (default each target's host).
    type: str
  ehlo:
    description:
      - The name to send with EHLO (default the host's name).
    type: str
  ca_file:
    description:
      - Trust these CA certificates (PEM) instead of the system's roots.
    type: path
  concurrency:
    description:
      - Targets scanned at once (mailtls's default is 10).
    type: int
  connections_per_target:
    description:
      - Connections open at once to one target (mailtls's default is 8).
    type: int
  timeout:
    description:
      - Seconds each connection may take, connect, dialogue and handshake together (mailtls's default is 10).
    type: int
  fail_on_noncompliant:
    description:
      - Fail the task when a target does not comply with O(profile) or could not be scanned.
    type: bool
    default: false
extends_documentation_fragment:
  - mailtls.mailtls.common
attributes:
  check_mode:
    description: The probe only reads, so it runs in check mode as well.
    support: full
  diff_mode:
    description: Nothing to diff.
    support: none
seealso:
  - module: mailtls.mailtls.harden
"""

EXAMPLES = r"""
- name: Probe each mail host's SMTP and IMAP from the controller
  mailtls.mailtls.probe:
    targets:
      - "{{ inventory_hostname }}:25"
      - "{{ inventory_hostname }}:993"
    profile: intermediate
  delegate_to: localhost
  register: probed

- name: List the hosts that still accept TLS 1.0
  ansible.builtin.debug:
    msg: "{{ probed.targets | selectattr('protocols.TLSv1.0.accepted') | map(attribute='target') | list }}"

- name: Fail when a host does not comply
  mailtls.mailtls.probe:
    targets: ["{{ inventory_hostname }}:587"]
    profile: modern
    fail_on_noncompliant: true
"""

RETURN = r"""
targets:
  description:
    - One report per target, as C(mailtls probe --json) prints it (its README documents every field).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: host:port as scanned.
      type: str
      sample: "mail.example.com:25"
    starttls:
      description: The dialogue used (smtp, imap, pop3, or none for implicit TLS).
      type: str
      sample: smtp
    starttls_offered:
      description: Whether the server offered STARTTLS.
      type: bool
      sample: true
    error:
      description: Why the target could not be (fully) scanned, or null.
      type: str
      sample: null
    protocols:
      description: For each of SSLv2, SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 and TLSv1.3, whether it is accepted and with
        which cipher suites (IANA names).
      type: dict
      sample: {"TLSv1.2": {"accepted": true, "cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]},
               "TLSv1.1": {"accepted": false, "cipher_suites": []}}
    groups:
      description: Key exchange groups accepted (IANA names).
      type: list
      elements: str
      sample: ["X25519", "secp256r1"]
    certificate:
      description: The certificate served (subject, issuer, validity, key, trust, hostname match).
      type: dict
      sample: {"subject": "CN=mail.example.com", "not_after": "2027-03-01T00:00:00Z", "trusted": true}
    findings:
      description: What is worth telling, each with severity (info, low, medium, high), a stable id and a message.
      type: list
      elements: dict
      sample: [{"severity": "medium", "id": "protocol-tlsv1.0", "message": "TLS 1.0 is accepted"}]
    compliant:
      description: Whether the target complies with the profile (only with O(profile)).
      type: bool
      sample: false
summary:
  description: One line of data per target (lowest protocol, compliant, number of findings, worst severity, error).
  returned: always
  type: list
  elements: dict
  sample: [{"target": "mail.example.com:25", "starttls_offered": true, "lowest_protocol": "TLSv1.2",
            "compliant": true, "findings": 1, "worst": "low", "error": null}]
compliant:
  description: True when every target complies with O(profile) and was scanned; null without a profile.
  returned: always
  type: bool
  sample: true
exit_code:
  description: The exit code of C(mailtls probe). 0 is fine, 1 means a target could not be scanned, and 3 means a
    target does not comply.
  returned: always
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailtls.mailtls.plugins.module_utils.mailtls import (
    OK,
    argument_spec,
    fail,
    option_args,
    run_mailtls,
)


def probe_args(module):
    p = module.params
    args = ["probe"] + option_args(
        p,
        ["targets_in", "starttls", "profile", "servername", "ehlo", "ca_file"]
        + ["concurrency", "connections_per_target", "timeout"],
    )
    # After `--`, a target can never be read as an option.
    return args + ["--"] + (p["targets"] or [])


def main():
    # The probe neither reloads nor keeps state.
    spec = argument_spec(dict(
        targets=dict(type="list", elements="str"),
        targets_in=dict(type="path"),
        starttls=dict(type="str", default="auto", choices=["auto", "smtp", "imap", "pop3", "none"]),
        profile=dict(type="str"),
        servername=dict(type="str"),
        ehlo=dict(type="str"),
        ca_file=dict(type="path"),
        concurrency=dict(type="int"),
        connections_per_target=dict(type="int"),
        timeout=dict(type="int"),
        fail_on_noncompliant=dict(type="bool", default=False),
    ), state=False)
    module = AnsibleModule(
        argument_spec=spec,
        required_one_of=[["targets", "targets_in"]],
        supports_check_mode=True,
    )
    rc, document, err, cmd = run_mailtls(module, probe_args(module))
    if "targets" not in document:
        fail(module, rc, document, err, cmd, "mailtls probe failed")

    summary = document.get("summary", [])
    compliant = None
    if module.params["profile"]:
        compliant = all(s.get("compliant") is True and not s.get("error") for s in summary)
    response = dict(changed=False, targets=document["targets"], summary=summary, compliant=compliant, exit_code=rc)
    if module.params["fail_on_noncompliant"] and rc != OK:
        bad = [s["target"] for s in summary if s.get("error") or s.get("compliant") is False]
        module.fail_json(msg="not compliant or not scanned: %s" % ", ".join(bad), **response)
    module.exit_json(**response)


if __name__ == "__main__":
    main()
