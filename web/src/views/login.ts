/**
 * The Log in page: textboxes "User" and "Password", button "Log in"; a refused login shows the server's own
 * message in an element with role `alert`.
 */
import { describeError, el, labelled } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";

/** Builds the login form; `onLoggedIn` runs once the server accepted the password. */
export function loginView(session: Session, onLoggedIn: (info: LoginInfo) => void, notice = ""): HTMLElement {
  const user = el("input", { name: "user", autocomplete: "username", required: true, autocapitalize: "off", spellcheck: "false" });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = el("button", { type: "submit" }, "Log in");
  const alert = el("div", { role: "alert", class: "alert" }, notice);
  if (notice === "") alert.hidden = true;
  const form = el(
    "form",
    { class: "login card", "aria-labelledby": "login-title" },
    el("h2", { id: "login-title" }, "Log in"),
    labelled("User", user),
    labelled("Password", password),
    submit,
    alert,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    alert.hidden = true;
    session
      .logIn(user.value, password.value)
      .then((info) => onLoggedIn(info))
      .catch((err: unknown) => {
        alert.textContent = describeError(err);
        alert.hidden = false;
        password.select();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  queueMicrotask(() => user.focus());
  return el("section", { class: "page login-page" }, form);
}
