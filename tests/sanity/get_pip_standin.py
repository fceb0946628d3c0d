"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test bootstraps pip in each sanity venv by downloading get-pip.py from a host
our build machines cannot reach. This does the same job from the interpreter's bundled
pip (ensurepip), then installs the requested packages from the configured index.
"""

import ensurepip
import os
import runpy
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at os.devnull; drop it so pip.conf/index settings apply.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
