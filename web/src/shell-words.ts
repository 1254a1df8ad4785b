/**
 * Splits a command line into words the way a POSIX shell does for quoting (no expansion, no operators), so the
 * Exec page can run `grep -n "two words" file` as argv without a shell on the server.
 */

/**
 * Splits `line` into argv: blanks separate words; `'...'` keeps everything literally; `"..."` keeps everything
 * but `\"`, `\\`, `\$` and `` \` `` (backslash escapes); outside quotes a backslash escapes the next character.
 * Throws a SyntaxError on an unterminated quote or a trailing backslash.
 *
 * @example
 * ```ts
 * splitShellWords(`printf '%s\n' "a b" c\ d`); // ["printf", "%s\\n", "a b", "c d"]
 * ```
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === " " || ch === "\t" || ch === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i += 1;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError("unterminated ' quote");
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i += 1;
      for (;;) {
        if (i >= line.length) throw new SyntaxError('unterminated " quote');
        const c = line[i]!;
        if (c === '"') break;
        if (c === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
          word += line[i + 1];
          i += 2;
        } else {
          word += c;
          i += 1;
        }
      }
      inWord = true;
      i += 1;
    } else if (ch === "\\") {
      if (i + 1 >= line.length) throw new SyntaxError("trailing backslash");
      // A backslash-newline joins lines, as in a shell.
      if (line[i + 1] !== "\n") word += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += ch;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}
