#!/usr/bin/env python3
"""Checks that no two paths differ only in case, and that Package.swift's dependencies match the imports: every module a target imports is one
of its declared dependencies, and every declared dependency is imported (except an executable a test
target depends on only so that its binary is built next to the tests)."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SYSTEM = {'Foundation', 'FoundationNetworking', 'FoundationXML', 'FoundationEssentials', 'Glibc', 'Darwin',
          'Musl', 'Dispatch', 'Synchronization', 'Testing', 'XCTest', 'os', 'Android', 'WinSDK', 'ucrt', 'Bionic'}


def calls(text):
    """(kind, body) of every .target/.executableTarget/.testTarget/.systemLibrary call."""
    for m in re.finditer(r'\.(target|executableTarget|testTarget|systemLibrary)\(', text):
        depth, i = 1, m.end()
        while depth:
            depth += {'(': 1, ')': -1}.get(text[i], 0)
            i += 1
        yield m.group(1), text[m.end():i - 1]


def main():
    text = open(os.path.join(ROOT, 'Package.swift')).read()
    text = re.sub(r'//[^\n]*', '', text)
    targets = {}
    for kind, body in calls(text):
        name = re.search(r'name:\s*"([^"]+)"', body).group(1)
        path = re.search(r'path:\s*"([^"]+)"', body)
        path = path.group(1) if path else os.path.join('Tests' if kind == 'testTarget' else 'Sources', name)
        deps = set()
        d = re.search(r'dependencies:\s*\[(.*?)\]\s*(?:,|$)', body, re.S)
        if d:
            deps |= set(re.findall(r'\.product\(name:\s*"([^"]+)"', d.group(1)))
            deps |= set(re.findall(r'(?<![:\w])"([^"]+)"(?!\s*\))', re.sub(r'\.product\([^)]*\)', '', d.group(1))))
        targets[name] = (kind, path, deps)
    executables = {n for n, (k, _, _) in targets.items() if k == 'executableTarget'}
    problems = []
    for name, (kind, path, deps) in sorted(targets.items()):
        if kind == 'systemLibrary':
            continue
        imports = set()
        for folder, _, files in os.walk(os.path.join(ROOT, path)):
            for f in files:
                if f.endswith('.swift'):
                    in_string = False  # inside a multi-line string literal (tests embed Python scripts)
                    for line in open(os.path.join(folder, f), encoding='utf-8'):
                        was_in_string = in_string
                        in_string ^= line.count('"""') % 2 == 1
                        if was_in_string:
                            continue
                        m = re.match(r'\s*(?:@testable\s+|@_exported\s+|public\s+|internal\s+|package\s+)?import\s+(?:struct\s+|class\s+|enum\s+|func\s+)?(\w+)', line)
                        if m:
                            imports.add(m.group(1))
        imports -= SYSTEM
        imports.discard(name)
        undeclared = imports - deps
        unused = deps - imports - (executables if kind == 'testTarget' else set())
        if undeclared:
            problems.append(f'{name}: imports {", ".join(sorted(undeclared))} without declaring it')
        if unused:
            problems.append(f'{name}: declares {", ".join(sorted(unused))} but never imports it')
    # Two paths that differ only in case collide on case-insensitive file systems (macOS, Windows).
    seen = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        for entry in dirs + files:
            path = os.path.relpath(os.path.join(folder, entry), ROOT)
            other = seen.setdefault(path.lower(), path)
            if other != path:
                problems.append(f'{path} and {other} differ only in case')
    for p in problems:
        print('FAIL: Package.swift:', p)
    if not problems:
        print(f'Package.swift: dependencies match the imports of all {len(targets)} targets')
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
