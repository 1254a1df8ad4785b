import { Argument, type Command } from "commander";
import { usageError, action } from "./fail.js";

/** The words a verb completes: its subcommands and its flags. */
interface VerbWords {
  path: string;
  subcommands: string[];
  flags: string[];
}

function collect(command: Command, prefix: string[], into: VerbWords[]): void {
  for (const sub of command.commands) {
    const path = [...prefix, sub.name()];
    const flags = sub.options.flatMap((option) => [option.short, option.long].filter((flag): flag is string => flag !== undefined));
    into.push({ path: path.join(" "), subcommands: sub.commands.map((c) => c.name()), flags: [...flags, "--help"] });
    collect(sub, path, into);
  }
}

/**
 * A bash completion script for the program as defined (verbs, subcommands, flags; file names otherwise), made from
 * the same definitions as `--help`, so it cannot drift from them.
 */
export function bashCompletion(program: Command): string {
  const verbs: VerbWords[] = [];
  collect(program, [], verbs);
  const top = program.commands.map((c) => c.name()).filter((name) => name !== "help");
  const cases = verbs
    .map((v) => `    "${v.path}") subs="${v.subcommands.join(" ")}"; flags="${v.flags.join(" ")}" ;;`)
    .join("\n");
  return `# bash completion for wharf: source <(wharf completion bash)
_wharf() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${top.join(" ")} --help --version" -- "$cur") )
    return
  fi
  local path="\${COMP_WORDS[1]}" subs="" flags=""
  # A verb with subcommands (wharf user add): the second word picks the subcommand.
  if [[ $COMP_CWORD -gt 2 ]]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${verbs.filter((v) => v.path.includes(" ")).map((v) => `      "${v.path}") path="${v.path}" ;;`).join("\n")}
    esac
  fi
  case "$path" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  elif [[ -n "$subs" && "$path" != *" "* ]]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -o bashdefault -F _wharf wharf
`;
}

/** The zsh script: zsh's bash-completion layer running the bash function (as npm and others ship it). */
export function zshCompletion(program: Command): string {
  return `#compdef wharf
# zsh completion for wharf: source <(wharf completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split("\n").slice(1).join("\n")}`;
}

/** Adds `wharf completion bash|zsh`. */
export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: source <(wharf completion bash), or zsh")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh"]))
    .action(action((shell: string) => {
      if (shell !== "bash" && shell !== "zsh") throw usageError(`no completion for ${shell}: bash or zsh`);
      process.stdout.write(shell === "bash" ? bashCompletion(program) : zshCompletion(program));
    }));
}
