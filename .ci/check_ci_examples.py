#!/usr/bin/env python3
"""The CI examples parse as YAML and every lsmsim command in them uses a subcommand and flags that exist.
usage: check_ci_examples.py LSMSIM FILE.yaml...   (exit 1 naming the file and the unknown flag)"""
import re, subprocess, sys
import yaml

lsmsim, files = sys.argv[1], sys.argv[2:]
help_text = subprocess.run([lsmsim, '--help'], capture_output=True, text=True).stdout
flags = {m.replace('-', '_') for m in re.findall(r'^  --(\S+)', help_text, re.M)}
subcommands = set(re.findall(r'^  ([a-z]+)  ', help_text, re.M))
assert flags and subcommands, 'lsmsim --help lists no flags or subcommands'

def strings(node):
  if isinstance(node, dict):
    for k, v in node.items():
      yield from strings(k)
      yield from strings(v)
  elif isinstance(node, list):
    for v in node:
      yield from strings(v)
  elif isinstance(node, str):
    yield node

bad = 0
for path in files:
  with open(path) as f:
    doc = yaml.safe_load(f)
  commands, before = 0, bad
  for text in strings(doc):
    for m in re.finditer(r'(?:^|[\s/])lsmsim\s+([a-z]+)(?=\s)([^&|;\n]*(?:\n\s*--[^&|;\n]*)*)', text):
      commands += 1
      if m.group(1) not in subcommands:
        print(f'{path}: unknown subcommand lsmsim {m.group(1)}'); bad += 1
      for flag in re.findall(r'(?<!\S)--([A-Za-z][\w-]*)', m.group(2)):
        if flag.replace('-', '_') not in flags:
          print(f'{path}: lsmsim {m.group(1)} --{flag}: no such flag'); bad += 1
  if commands == 0:
    print(f'{path}: no lsmsim command found'); bad += 1
  elif bad == before:
    print(f'{path}: parses, {commands} lsmsim commands, every subcommand and flag exists')
sys.exit(1 if bad else 0)
