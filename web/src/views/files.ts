/**
 * The Files page: the user's home as a table (name, size, modified, content hash), folders navigable, uploads by
 * the "Upload files" input or by dropping files on the page, and per entry "Download" (a short-lived link the
 * browser's own download manager fetches), "Rename" and "Delete"; "New folder"; the home's usage.
 */
import type { BrowserConnection } from "wharf/browser";
import { joinPath, listFolder, type FileEntry } from "./file-list.js";
import { describeError, el, errorCode, formatBytes, formatDateTime, labelled, replaceChildren } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";
import { FileLinks } from "./file-links.js";
import { UploadList } from "./uploads.js";
import type { View } from "./view.js";

/** Builds the Files page. */
export function filesView(session: Session, _info: LoginInfo): View {
  let folder = "";
  const crumbs = el("nav", { class: "crumbs", "aria-label": "Folder" });
  const status = el("p", { class: "status", role: "status" });
  const usage = el("p", { class: "usage" });
  const tbody = el("tbody");
  const table = el(
    "table",
    { class: "files" },
    el("caption", { class: "visually-hidden" }, "Files in this folder"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Name"), el("th", { scope: "col" }, "Size"), el("th", { scope: "col", class: "col-modified" }, "Modified"), el("th", { scope: "col", class: "col-hash" }, "Hash"), el("th", { scope: "col" }, "Actions"))),
    tbody,
  );
  const folderName = el("input", { name: "folder", autocomplete: "off" });
  const newFolder = el("button", { type: "submit" }, "New folder");
  const folderForm = el("form", { class: "inline-form" }, labelled("Folder name", folderName), newFolder);
  const picker = el("input", { type: "file", multiple: true, name: "upload" });
  const uploads = new UploadList(session, () => folder, () => void refresh());
  const links = new FileLinks(session);
  const element = el(
    "section",
    { class: "page files-page", "aria-labelledby": "files-title" },
    el("h2", { id: "files-title" }, "Files"),
    crumbs,
    el("div", { class: "toolbar" }, labelled("Upload files", picker, { class: "upload-label" }), folderForm),
    el("p", { class: "hint" }, "Or drop files anywhere on this page."),
    uploads.element,
    el("div", { class: "table-wrap" }, table),
    usage,
    status,
  );
  // The quota comes with files.stat of the home (refreshed with the listing); an upload the quota refused
  // names it too.
  uploads.onQuota((text) => {
    usage.dataset.quota = text;
    void refresh();
  });

  const say = (text: string): void => {
    status.textContent = text;
  };

  const renderCrumbs = (): void => {
    const parts = folder === "" ? [] : folder.split("/");
    const home = el("button", { type: "button", class: "link" }, "Home");
    home.addEventListener("click", () => openFolder(""));
    const items: (Node | string)[] = [home];
    parts.forEach((part, index) => {
      const target = parts.slice(0, index + 1).join("/");
      const button = el("button", { type: "button", class: "link" }, part);
      button.addEventListener("click", () => openFolder(target));
      items.push(" / ", button);
    });
    replaceChildren(crumbs, ...items);
  };

  const openFolder = (path: string): void => {
    folder = path;
    void refresh();
  };

  const row = (entry: FileEntry): HTMLTableRowElement => {
    const nameCell = el("td", { class: "name" });
    if (entry.type === "dir") {
      const open = el("button", { type: "button", class: "link", "aria-label": `Open folder ${entry.name}` }, `${entry.name}/`);
      open.addEventListener("click", () => openFolder(entry.path));
      nameCell.append(open);
    } else {
      nameCell.append(entry.name);
    }
    const actions = el("div", { class: "actions-box" });
    const tr = el(
      "tr",
      { "data-name": entry.name },
      nameCell,
      el("td", { class: "size" }, entry.type === "dir" ? "—" : formatBytes(entry.size)),
      el("td", { class: "col-modified" }, el("time", { datetime: new Date(entry.mtime).toISOString() }, formatDateTime(entry.mtime))),
      el("td", { class: "col-hash hash", title: entry.hash ?? "" }, entry.hash ?? ""),
      el("td", { class: "actions" }, actions),
    );
    if (entry.type === "file") {
      const download = el("button", { type: "button", "aria-label": `Download ${entry.name}` }, "Download");
      download.addEventListener("click", () => void links.download(entry).catch((err: unknown) => say(describeError(err))));
      actions.append(download);
    }
    const rename = el("button", { type: "button", "aria-label": `Rename ${entry.name}` }, "Rename");
    rename.addEventListener("click", () => startRename(entry, nameCell, rename));
    const remove = el("button", { type: "button", "aria-label": `Delete ${entry.name}` }, "Delete");
    remove.addEventListener("click", () => confirmDelete(entry, actions, remove));
    actions.append(rename, remove);
    return tr;
  };

  const startRename = (entry: FileEntry, cell: HTMLTableCellElement, trigger: HTMLButtonElement): void => {
    const input = el("input", { value: entry.name, autocomplete: "off" });
    const save = el("button", { type: "submit" }, "Save");
    const cancel = el("button", { type: "button" }, "Cancel");
    const form = el("form", { class: "inline-form" }, labelled(`New name for ${entry.name}`, input), save, cancel);
    const previous = [...cell.childNodes];
    replaceChildren(cell, form);
    trigger.disabled = true;
    const restore = (): void => {
      replaceChildren(cell, ...previous);
      trigger.disabled = false;
      trigger.focus();
    };
    cancel.addEventListener("click", restore);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") restore();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (name === "" || name === entry.name) return restore();
      const to = joinPath(folder, name);
      void withConnection((conn) => conn.request({ type: "files.mv", from: entry.path, to }))
        .then(() => say(`Renamed ${entry.name} to ${name}.`))
        .catch((err: unknown) => say(describeError(err)))
        .finally(() => void refresh());
    });
    input.focus();
    input.select();
  };

  const confirmDelete = (entry: FileEntry, cell: HTMLElement, trigger: HTMLButtonElement): void => {
    const yes = el("button", { type: "button", class: "danger" }, `Yes, delete ${entry.name}`);
    const no = el("button", { type: "button" }, "Keep");
    const previous = [...cell.childNodes];
    replaceChildren(cell, yes, no);
    no.addEventListener("click", () => {
      replaceChildren(cell, ...previous);
      trigger.focus();
    });
    yes.addEventListener("click", () => {
      void withConnection((conn) => conn.request({ type: "files.rm", path: entry.path, recursive: entry.type === "dir" }))
        .then(() => say(`Deleted ${entry.name}.`))
        .catch((err: unknown) => say(describeError(err)))
        .finally(() => void refresh());
    });
    yes.focus();
  };

  let refreshing: Promise<void> | null = null;
  const refresh = async (): Promise<void> => {
    renderCrumbs();
    const conn = session.connection;
    if (conn === null) return;
    const run = (async () => {
      try {
        const entries = await listFolder(conn, folder);
        entries.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === "dir" ? -1 : 1));
        replaceChildren(tbody, ...entries.map(row));
        if (entries.length === 0) tbody.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "This folder is empty.")));
        table.dataset.loaded = String(Date.now());
        const all = await listFolder(conn, "", true);
        const used = all.reduce((sum, entry) => sum + (entry.type === "file" ? entry.size : 0), 0);
        const stat = await conn.request({ type: "files.stat", path: "" });
        const quota = typeof stat.header.quota === "number" ? stat.header.quota : null;
        usage.dataset.quota = quota === null ? "no quota" : `quota ${formatBytes(quota)} (${formatBytes(Math.max(0, quota - used))} free)`;
        usage.textContent = `Home: ${formatBytes(used)} in ${all.filter((e) => e.type === "file").length} files${usage.dataset.quota ? `; ${usage.dataset.quota}` : ""}`;
      } catch (err) {
        if (errorCode(err) === "E_NOT_FOUND" && folder !== "") {
          folder = "";
          return refresh();
        }
        say(describeError(err));
      }
    })();
    refreshing = run;
    await run;
    if (refreshing === run) refreshing = null;
  };

  const withConnection = async <T>(action: (conn: BrowserConnection) => Promise<T>): Promise<T> => {
    const conn = session.connection;
    if (conn === null) throw new Error("Not connected to the server; reconnecting…");
    return action(conn);
  };

  folderForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = folderName.value.trim();
    if (name === "") {
      say("Type a folder name first.");
      folderName.focus();
      return;
    }
    void withConnection((conn) => conn.request({ type: "files.mkdir", path: joinPath(folder, name) }))
      .then(() => {
        folderName.value = "";
        say(`Made folder ${name}.`);
      })
      .catch((err: unknown) => say(describeError(err)))
      .finally(() => void refresh());
  });

  picker.addEventListener("change", () => {
    const files = [...(picker.files ?? [])];
    picker.value = "";
    uploads.start(files);
  });
  element.addEventListener("dragover", (event) => {
    if (event.dataTransfer?.types.includes("Files") === true) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      element.classList.add("dropping");
    }
  });
  element.addEventListener("dragleave", () => element.classList.remove("dropping"));
  element.addEventListener("drop", (event) => {
    event.preventDefault();
    element.classList.remove("dropping");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) uploads.start(files);
  });

  const unsubscribe = session.onConnect(() => void refresh());
  return {
    element,
    show: () => void refresh(),
    dispose: () => {
      unsubscribe();
      uploads.dispose();
    },
  };
}
