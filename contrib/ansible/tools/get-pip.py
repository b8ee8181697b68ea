"""A stand-in for pip's get-pip.py, for `ansible-test sanity` on machines
that reach PyPI but not the host ansible-test downloads get-pip.py from.

ansible-test runs it with the virtual environment's Python and pip's
install arguments; it bootstraps pip from Python's own ensurepip, then lets
that pip install what was asked. scripts/test-deps-ansible puts it where
ansible-test looks first (~/.ansible/test/cache/get_pip_VERSION.py).
"""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap()
# ensurepip hides pip's config files from itself (PIP_CONFIG_FILE=/dev/null);
# the pip that installs the packages needs them (a site's index, CA bundle).
os.environ.pop("PIP_CONFIG_FILE", None)
# Options of get-pip.py itself, which pip does not know.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
