# bash completion for avenor: commands, flag names from `avenor <command> --help`,
# and backend names from `avenor plugins` (so only installed plugins are offered).
_avenor() {
  local cur prev cmd
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local commands="run answer watch control stable mcp verify plugins doctor help version"
  if [ "$COMP_CWORD" -eq 1 ] && [[ $cur != -* ]]; then
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    return
  fi
  case $prev in
    -backend|--backend)
      COMPREPLY=($(compgen -W "$(avenor plugins 2>/dev/null | cut -f1)" -- "$cur"))
      return ;;
    -dir|--dir|-prompt-file|--prompt-file|-loop-file|--loop-file|-on-event|--on-event)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
  esac
  cmd=${COMP_WORDS[1]}
  [[ " $commands " == *" $cmd "* ]] || cmd=run
  if [[ $cur == -* ]]; then
    local flags
    flags=$(avenor "$cmd" --help 2>&1 | sed -n 's/^  -\([a-z0-9-]*\).*/--\1/p')
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  fi
}
complete -F _avenor avenor
