#!/usr/bin/env zsh
# Usage: zsh zsh-complete.zsh SCRIPT LINE [ZCOMPDUMP]
# Prints the completions a real interactive zsh offers for LINE once SCRIPT is sourced, one per
# line: it starts `zsh -f -i` in a pseudo-terminal (zsh's own zpty module), types LINE, presses
# Tab, and records every match the completion system adds (compadd wrapped to print them).
# ZCOMPDUMP: where compinit keeps its dump between calls (faster); default none.
# Exit 2 when no completion ran, 3 without zpty.
zmodload zsh/zpty || { print -u2 'zsh/zpty is missing'; exit 3 }
setup=$(mktemp) || exit 3
trap 'rm -f $setup; zpty -d completing 2>/dev/null' EXIT
print -r -- "ORCHESTRATOR_COMPLETION_SCRIPT=${(q)1} ORCHESTRATOR_ZCOMPDUMP=${(q)3-}" >$setup
cat >>$setup <<'SETUP'
PROMPT= RPROMPT=
autoload -Uz compinit
if [[ -n $ORCHESTRATOR_ZCOMPDUMP ]]; then compinit -u -d $ORCHESTRATOR_ZCOMPDUMP; else compinit -u -D; fi
source $ORCHESTRATOR_COMPLETION_SCRIPT
bindkey '^I' complete-word
zstyle ':completion:*' insert-tab false
__mark() { print -r -- '<<<marker>>>' }
compprefuncs=(__mark)
comppostfuncs=(__mark exit)
compadd() {
  # Calls that only ask for matches (-O/-A/-D, as _describe makes) add nothing: pass them on.
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- $__hits
  builtin compadd "$@"
}
print -r -- '<<<ready>>>'
SETUP
zpty completing zsh -f -i
zpty -w completing "source ${(q)setup}"
local out
while zpty -r completing out; do [[ $out == '<<<ready>>>'* ]] && break; done
zpty -w -n completing "$2"$'\t'
integer marks=0
while zpty -r completing out; do
  out=${${out%$'\n'}%$'\r'}
  if [[ $out == *'<<<marker>>>'* ]]; then (( ++marks == 2 )) && exit 0; continue; fi
  (( marks == 1 )) && [[ -n $out ]] && print -r -- $out
done
exit 2
