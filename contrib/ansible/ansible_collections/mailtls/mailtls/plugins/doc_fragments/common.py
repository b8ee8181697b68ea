# -*- coding: utf-8 -*-
# Copyright: mailtls maintainers
# MIT OR Apache-2.0 (see the mailtls repository)
"""The options every mailtls module documents the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # mailtls.mailtls.common: every module runs the binary.
    DOCUMENTATION = r"""
options:
  binary:
    description:
      - The mailtls executable, a name looked up in PATH or a path.
    type: path
    default: mailtls
"""

    # mailtls.mailtls.common.state: the modules that change a server (harden, rollback).
    STATE = r"""
options:
  state_dir:
    description:
      - Where mailtls keeps backups and its journal (default C(/var/lib/mailtls)).
    type: path
  reload_timeout:
    description:
      - Seconds a reload may take before it is killed and counted as failed (mailtls's default is 120).
    type: int
"""
