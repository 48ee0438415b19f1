// page.js keeps the status page live: it follows the events stream and
// fetches, as the server renders them, the rows that changed. Without it
// the page still reads, and its buttons still work (they are forms).
"use strict";

(function () {
  const body = document.body;
  const live = document.getElementById("live");
  const msg = document.getElementById("msg");
  let pending = new Set();
  let appsDirty = false;
  let scheduled = false;

  function say(text, bad) {
    msg.textContent = text;
    msg.className = bad ? "error" : "";
  }

  // A <tr> as the server renders it, parsed in a table's context.
  function parseRow(html) {
    const t = document.createElement("template");
    t.innerHTML = "<table><tbody>" + html + "</tbody></table>";
    return t.content.querySelector("tr");
  }

  async function refreshService(name) {
    const res = await fetch("/page/row/" + encodeURIComponent(name), { credentials: "same-origin" });
    const old = document.getElementById("svc-" + name);
    if (res.status === 404) {
      if (old) old.remove();
      return;
    }
    if (!res.ok) throw new Error(name + ": " + res.status);
    const row = parseRow(await res.text());
    if (!row) return;
    if (old) {
      old.replaceWith(row);
    } else {
      document.querySelector("#services tbody").appendChild(row);
    }
    bindForms(row);
  }

  async function refreshApps() {
    const table = document.getElementById("apps");
    if (!table) return;
    const res = await fetch("/page/apps", { credentials: "same-origin" });
    if (!res.ok) throw new Error("applications: " + res.status);
    const t = document.createElement("template");
    t.innerHTML = "<table>" + (await res.text()) + "</table>";
    const rows = t.content.querySelector("tbody");
    document.getElementById("app-rows").replaceWith(rows);
    bindForms(rows);
  }

  // Changes come in bursts (a crash loop): each row is fetched once per
  // frame, whatever the events.
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(async function () {
      scheduled = false;
      const names = Array.from(pending);
      const apps = appsDirty;
      pending = new Set();
      appsDirty = false;
      try {
        await Promise.all(names.map(refreshService));
        if (apps) await refreshApps();
      } catch (e) {
        say(String(e), true);
      }
    });
  }

  function follow() {
    const since = body.dataset.seq || "0";
    const es = new EventSource("/v1/events?follow=1&since=" + encodeURIComponent(since));
    es.onopen = function () {
      body.dataset.live = "on";
      live.textContent = "live";
    };
    es.onerror = function () {
      body.dataset.live = "off";
      live.textContent = "reconnecting";
    };
    es.onmessage = function (m) {
      const ev = JSON.parse(m.data);
      body.dataset.seq = String(ev.seq);
      if (ev.dropped) {
        document.querySelectorAll("#services tbody tr").forEach(function (tr) { pending.add(tr.dataset.name); });
        appsDirty = true;
      } else if (ev.service && !ev.service.endsWith("/log")) {
        pending.add(ev.service);
        appsDirty = true;
      }
      schedule();
    };
  }

  // The buttons post without leaving the page; the row changes as the
  // events say.
  function bindForms(root) {
    root.querySelectorAll("td.actions form").forEach(function (form) {
      form.addEventListener("submit", async function (e) {
        e.preventDefault();
        const res = await fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: "",
        });
        if (res.ok) {
          say(form.action.replace(location.origin + "/v1/", "") + ": sent");
        } else {
          let why = res.status + "";
          try { why = (await res.json()).error; } catch (_) { }
          say(why, true);
        }
      });
    });
  }

  // Uptimes move on by themselves, as sv-ctl status would show them.
  function human(secs) {
    const s = Math.floor(secs);
    if (s < 60) return s + "s";
    const pad = function (n) { return String(n).padStart(2, "0"); };
    if (s < 3600) return Math.floor(s / 60) + "m" + pad(s % 60) + "s";
    if (s < 48 * 3600) return Math.floor(s / 3600) + "h" + pad(Math.floor(s / 60) % 60) + "m";
    return Math.floor(s / 86400) + "d";
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("#services td.uptime").forEach(function (td) {
      const since = Date.parse(td.dataset.since);
      const state = td.parentElement.dataset.state;
      if (!isNaN(since) && state !== "unsupervised" && state !== "unknown") {
        td.textContent = human(Math.max(0, (now - since) / 1000));
      }
    });
  }

  // The log of the chosen service, as it is written.
  let logStream = null;
  function showLog(name) {
    if (logStream) logStream.close();
    const pre = document.getElementById("log-lines");
    pre.textContent = "";
    if (!name) return;
    logStream = new EventSource("/v1/services/" + encodeURIComponent(name) + "/log?follow=1&lines=50");
    logStream.onmessage = function (m) {
      pre.appendChild(document.createTextNode(m.data + "\n"));
      while (pre.childNodes.length > 500) pre.removeChild(pre.firstChild);
      pre.scrollTop = pre.scrollHeight;
    };
  }

  const select = document.getElementById("log-service");
  select.addEventListener("change", function () {
    history.replaceState(null, "", select.value ? "/?log=" + encodeURIComponent(select.value) + "#log" : "/");
    showLog(select.value);
  });
  document.getElementById("log-form").addEventListener("submit", function (e) {
    e.preventDefault();
    showLog(select.value);
  });

  bindForms(document);
  follow();
  if (select.value) showLog(select.value);
  setInterval(tick, 1000);
})();
