// Makes the queue quicker; every action still works as a plain form without it.
// j/k move between comments, a/r/s act on the current one, x ticks it.
(() => {
  "use strict";
  const form = document.getElementById("queue-form");
  for (const copy of document.querySelectorAll("[data-copy]")) {
    copy.addEventListener("click", async () => {
      const text = document.getElementById(copy.dataset.copy).textContent;
      await navigator.clipboard.writeText(text);
      copy.textContent = "Copied";
    });
  }
  if (!form) return;

  const rows = () => [...form.querySelectorAll(".row:not(.done)")];
  let current = -1;
  const focusRow = (i) => {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(i, list.length - 1));
    list.forEach((r, n) => r.classList.toggle("current", n === current));
    list[current].focus();
  };
  const badge = document.querySelector(".badge");

  // A row's own buttons act without reloading the page.
  form.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (!button || !button.formAction.includes("one=")) return;
    event.preventDefault();
    const row = button.closest(".row");
    const body = new FormData(form);
    body.set("action", button.value);
    body.delete("ids");
    button.disabled = true;
    try {
      const resp = await fetch(button.formAction, {
        method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      // A sign-in page or an expired token comes back as HTML, which has nothing to parse.
      const json = (resp.headers.get("Content-Type") || "").includes("application/json");
      const data = json ? await resp.json() : {};
      if (!resp.ok || !json) {
        throw new Error(data.error ? data.error.message : "this page is out of date; reload it");
      }
      const at = rows().indexOf(row); // taken before the row leaves the list
      const [moved] = data.comments;
      row.classList.add("done");
      row.setAttribute("aria-label", `Comment ${moved.status}`);
      row.querySelectorAll("button, input").forEach((el) => (el.disabled = true));
      showBadge(data.pending);
      offerUndo(row, { ...moved, previous: row.dataset.status });
      row.dataset.status = moved.status;
      focusRow(at); // the row that followed the acted-on one now has its place
    } catch (err) {
      button.disabled = false;
      alert(`That did not work: ${err.message}`);
    }
  });

  const showBadge = (pending) => {
    if (!badge) return;
    badge.textContent = String(pending);
    badge.setAttribute("aria-label", `${pending} pending`); // what screen readers say
  };

  // The card says what happened, and for a few seconds offers to put the comment back.
  const UNDO_SECONDS = 8;
  const SAID = {
    approved: "Approved.", rejected: "Rejected.", spam: "Marked as spam.", deleted: "Deleted.",
  };
  const offerUndo = (row, moved) => {
    const note = document.createElement("p");
    note.className = "outcome";
    note.setAttribute("role", "status");
    note.textContent = SAID[moved.status] || `Now ${moved.status}.`;
    row.querySelector(".actions").after(note);
    if (!moved.previous || moved.previous === moved.status) return;
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "undo";
    undo.textContent = "Undo";
    note.append(" ", undo);
    const expire = setTimeout(() => undo.remove(), UNDO_SECONDS * 1000);
    undo.addEventListener("click", async () => {
      clearTimeout(expire);
      undo.disabled = true;
      const body = new FormData();
      body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
      body.set("status", moved.previous);
      try {
        const resp = await fetch(form.dataset.undo.replace("/0/undo", `/${moved.id}/undo`), {
          method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
        });
        const json = (resp.headers.get("Content-Type") || "").includes("application/json");
        const data = json ? await resp.json() : {};
        if (!resp.ok || !json) {
          throw new Error(data.error ? data.error.message : "this page is out of date; reload it");
        }
        note.remove();
        row.dataset.status = data.status;
        row.classList.remove("done");
        row.removeAttribute("aria-label");
        row.querySelectorAll("button, input").forEach((el) => (el.disabled = false));
        showBadge(data.pending);
        focusRow(rows().indexOf(row));
      } catch (err) {
        undo.disabled = false;
        alert(`That did not work: ${err.message}`);
      }
    });
  };

  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      form.querySelectorAll("input[name=ids]").forEach((box) => (box.checked = all.checked));
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    // Typing goes to fields; a ticked checkbox keeps the keys working.
    if (event.target.closest("input:not([type=checkbox]), textarea, select")) return;
    const list = rows();
    const row = list[current];
    switch (event.key) {
      case "j": focusRow(current + 1); break;
      case "k": focusRow(current - 1); break;
      case "x": if (row) { const box = row.querySelector("input[name=ids]"); box.checked = !box.checked; } break;
      case "a": case "r": case "s": {
        const button = row && row.querySelector(`button[data-key="${event.key}"]`);
        if (button) button.click();
        break;
      }
      default: return;
    }
    event.preventDefault();
  });
})();
