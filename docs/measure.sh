#!/bin/bash
# The docs' figures (issue 29): README's length, long sentences and long paragraphs in README.md
# and docs/*.md (code blocks, tables and headings left out), and what tests/it/docs.rs counts:
# refusals without a troubleshooting entry, JSON blocks that are not profiles, command lines that
# do not parse. Usage: docs/measure.sh [REV]  (REV: measure the text of a git revision instead;
# the cargo figures are then left out, as with TEXT_ONLY=1).
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-}
python3 - "$REV" <<'PY'
import re, subprocess, sys, os
rev = sys.argv[1]
def files():
    if rev:
        names = subprocess.run(['git', 'ls-tree', '-r', '--name-only', rev], capture_output=True, text=True, check=True).stdout.split()
        names = [n for n in names if n == 'README.md' or (n.startswith('docs/') and n.endswith('.md'))]
        return {n: subprocess.run(['git', 'show', f'{rev}:{n}'], capture_output=True, text=True, check=True).stdout for n in names}
    out = {'README.md': open('README.md').read()}
    for d, _, fs in os.walk('docs'):
        for f in fs:
            if f.endswith('.md'):
                out[os.path.join(d, f)] = open(os.path.join(d, f)).read()
    return out
def paragraphs(md):
    """Prose paragraphs: runs of lines outside code blocks, tables, headings and indented code."""
    para, fence = [], False
    for line in md.split('\n') + ['']:
        s = line.strip()
        if s.startswith('```'):
            fence = not fence
            if para: yield para; para = []
            continue
        if fence or line.startswith('    ') and not para:
            continue
        # Headings, tables, and quotes of what the program prints are not prose.
        if not s or s.startswith(('#', '|', '>')):
            if para: yield para
            para = []
            continue
        if s.startswith(('- ', '* ')) or re.match(r'\d+\. ', s):
            if para: yield para
            para = [s]
            continue
        para.append(s)
long_sentences, long_paras = [], []
docs = files()
for name, md in sorted(docs.items()):
    for p in paragraphs(md):
        if len(p) > 8:
            long_paras.append(f'{name}: {len(p)} lines: {p[0][:60]}')
        text = ' '.join(p)
        text = re.sub(r'`[^`]*`', 'CODE', text)
        for s in re.split(r'(?<=[.!?:;])\s+(?=[A-Z(*\[])|(?<=[.!?])\s+', text):
            n = len(s.split())
            if n > 50:
                long_sentences.append(f'{name}: {n} words: {s[:70]}')
readme = docs.get('README.md', '')
print(f'README.md lines: {readme.count(chr(10))}')
print(f'sentences over 50 words: {len(long_sentences)}')
for s in long_sentences: print('  ' + s)
print(f'prose paragraphs over 8 lines: {len(long_paras)}')
for s in long_paras: print('  ' + s)
PY
if [ -z "$REV" ] && [ -z "${TEXT_ONLY:-}" ]; then
  cargo test -q --test it docs:: -- --nocapture --test-threads=1 2>/dev/null | grep -o 'DOCS-FIGURE.*' | sed 's/^DOCS-FIGURE //' || true
fi
