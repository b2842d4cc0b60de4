"""The onboard programs load FoundationEssentials only (docs/performance.md, "Onboard footprint"):
full Foundation, its ICU data, FoundationNetworking (libcurl) and FoundationXML (libxml2) would add
5-9 MB of resident memory to each process on a 64 MB box. Checked with ldd on the built binaries,
so a new `import Foundation` (or a dependency that brings it) anywhere below them fails here."""
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FORBIDDEN = ('libFoundation.so', 'libFoundationInternationalization.so', 'lib_FoundationICU.so',
             'libFoundationNetworking.so', 'libFoundationXML.so', 'libcurl', 'libxml2')


def bin_dir():
    out = subprocess.run(['swift', 'build', '--show-bin-path'], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize('program', ['nemo', 'monnemo-agent', 'softphone', 'xcast6'])
def test_onboard_program_loads_no_full_foundation(program):
    path = os.path.join(bin_dir(), program)
    assert os.path.exists(path), f'{path} missing: run `swift build`'
    libraries = subprocess.run(['ldd', path], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0] for line in libraries.splitlines() if line.strip()]
    assert any(n.startswith('libFoundationEssentials.so') for n in names), names  # the check sees the Swift libraries
    loaded = [n for n in names if n.startswith(FORBIDDEN)]
    assert loaded == [], f'{program} loads {loaded}: something below it imports Foundation instead of FoundationEssentials'
