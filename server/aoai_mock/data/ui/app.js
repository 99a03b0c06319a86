// aoai-mock live view. Reads the admin API it sits next to (../requests, ../scenarios, ../faults,
// ../deployments), polling the journal with since=<highest seq seen>. Everything a request carried is put
// into the page as text (textContent), never as markup.
"use strict";

(() => {
  const KEY_STORE = "aoai-mock-admin-key";
  const KEY_HEADER = "x-aoai-mock-admin-key";
  const POLL_MS = 1000;
  const SIDE_EVERY = 2; // the side panels are read every second poll
  const BATCH = 200; // the newest entries one read takes (a load test's burst is sampled, not all kept)
  const MAX_ROWS = 1000; // entries the page keeps (oldest dropped first), as many as the journal by default
  const HIGHLIGHT_LIMIT = 200000; // characters of JSON coloured; longer bodies are shown plain
  const SEARCH_FIELDS = {
    status: (e) => statusText(e),
    deployment: (e) => e.deployment,
    dep: (e) => e.deployment,
    operation: (e) => e.operation,
    op: (e) => e.operation,
    scenario: (e) => e.scenario,
    rule: (e) => e.rule,
    id: (e) => e.id,
    fault: (e) => (e.fault ? e.fault.kind : null),
    outcome: (e) => e.outcome,
    method: (e) => e.method,
    path: (e) => e.path,
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    entries: new Map(), // seq -> entry
    rows: new Map(), // seq -> <tr>
    lastSeq: 0,
    loaded: false,
    polls: 0,
    paused: false,
    locked: false,
    selected: null,
    show: "",
    deployment: "",
    operation: "",
    query: "",
    scenarios: null,
    faults: null,
    deployments: null,
    allDeployments: false,
    timer: null,
  };

  class Locked extends Error {}

  // Reading the admin API ---------------------------------------------------------------------------------

  function adminKey() {
    try {
      return sessionStorage.getItem(KEY_STORE);
    } catch (_) {
      return null;
    }
  }

  async function api(path) {
    const headers = { accept: "application/json" };
    const key = adminKey();
    if (key) headers[KEY_HEADER] = key;
    const response = await fetch("../" + path, { headers, cache: "no-store", credentials: "omit" });
    if (response.status === 401) throw new Locked();
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  }

  async function poll() {
    state.timer = null;
    if (state.paused || state.locked) return;
    try {
      const since = state.lastSeq ? `since=${state.lastSeq}&` : "";
      const journal = await api(`requests?${since}limit=${BATCH}`);
      if (state.polls % SIDE_EVERY === 0 || !state.loaded) await readSide();
      state.polls += 1;
      addEntries(journal.data || []);
      state.loaded = true;
      setStatus("live", "Live", " · updated " + clock(new Date()));
    } catch (error) {
      if (error instanceof Locked) {
        lock();
        return;
      }
      setStatus("error", "Cannot reach the mock · retrying");
    }
    schedule(POLL_MS);
  }

  async function readSide() {
    const [scenarios, faults, deployments] = await Promise.all([
      api("scenarios"),
      api("faults"),
      api("deployments"),
    ]);
    state.scenarios = scenarios;
    state.faults = faults;
    state.deployments = deployments;
    renderSide();
  }

  function schedule(ms) {
    if (state.timer === null && !state.paused && !state.locked) state.timer = setTimeout(poll, ms);
  }

  function pollNow() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    poll();
  }

  // The admin key ------------------------------------------------------------------------------------------

  function lock() {
    const refused = Boolean(adminKey());
    try {
      sessionStorage.removeItem(KEY_STORE);
    } catch (_) {
      /* storage may be off: the key is then asked for on every load */
    }
    state.locked = true;
    forgetEverything();
    setStatus("locked", "Admin key required");
    $("key-error").hidden = !refused;
    $("key-screen").hidden = false;
    $("lock").hidden = true;
    $("key-input").value = "";
    $("key-input").focus();
  }

  function unlock(key) {
    try {
      sessionStorage.setItem(KEY_STORE, key);
    } catch (_) {
      /* see lock() */
    }
    state.locked = false;
    $("key-screen").hidden = true;
    $("lock").hidden = false;
    setStatus("connecting", "Connecting…");
    pollNow();
  }

  function forgetEverything() {
    state.entries.clear();
    state.rows.clear();
    state.lastSeq = 0;
    state.loaded = false;
    state.scenarios = state.faults = state.deployments = null;
    closeDetail();
    renderTable();
    renderSide();
  }

  // The journal -------------------------------------------------------------------------------------------

  function addEntries(list) {
    if (!list.length) return;
    for (const entry of list) {
      state.entries.set(entry.seq, entry);
      if (entry.seq > state.lastSeq) state.lastSeq = entry.seq;
    }
    const fresh = state.loaded ? new Set(list.map((e) => e.seq)) : new Set();
    while (state.entries.size > MAX_ROWS) {
      const oldest = state.entries.keys().next().value;
      state.entries.delete(oldest);
      state.rows.delete(oldest);
    }
    refreshChoices();
    renderTable(fresh);
    renderSide();
    if (state.selected === null && location.hash.length > 1) selectFromHash();
    else if (list.some((e) => e.retry && e.retry.of === state.selected)) renderDetail(); // its "Retried by" 
  }

  function arrivalOrder(a, b) {
    return a.time < b.time ? -1 : a.time > b.time ? 1 : a.seq - b.seq;
  }

  function statusText(entry) {
    return entry.status === null ? entry.outcome : String(entry.status);
  }

  function failed(entry) {
    return entry.status === null || entry.status >= 400 || entry.outcome !== "sent";
  }

  function haystack(entry) {
    if (entry._text === undefined) {
      const parts = [
        entry.method, entry.path, entry.id, entry.deployment, entry.operation, entry.api_version, entry.scenario,
        entry.rule, entry.responder, statusText(entry), entry.outcome, entry.fault && entry.fault.kind,
        entry.fault && entry.fault.effect, bodyText(entry.body), bodyText(entry.response && entry.response.body),
      ];
      entry._text = parts.filter((p) => p !== null && p !== undefined).join("\n").toLowerCase();
    }
    return entry._text;
  }

  function bodyText(body) {
    if (body === null || body === undefined) return "";
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return text.length > 100000 ? text.slice(0, 100000) : text;
  }

  function parseQuery(text) {
    const terms = [];
    for (const word of text.trim().toLowerCase().split(/\s+/)) {
      if (!word) continue;
      const colon = word.indexOf(":");
      const field = colon > 0 ? word.slice(0, colon) : "";
      if (field in SEARCH_FIELDS && colon < word.length - 1) terms.push({ field, value: word.slice(colon + 1) });
      else terms.push({ field: "", value: word });
    }
    return terms;
  }

  function matches(entry, terms) {
    switch (state.show) {
      case "2xx": case "4xx": case "5xx":
        if (entry.status === null || String(entry.status)[0] !== state.show[0]) return false;
        break;
      case "fault":
        if (!entry.fault) return false;
        break;
      case "retry":
        if (!entry.retry) return false;
        break;
    }
    if (state.deployment && entry.deployment !== state.deployment) return false;
    if (state.operation && entry.operation !== state.operation) return false;
    for (const term of terms) {
      if (term.field) {
        const value = SEARCH_FIELDS[term.field](entry);
        if (value === null || value === undefined || !String(value).toLowerCase().includes(term.value)) return false;
      } else if (!haystack(entry).includes(term.value)) {
        return false;
      }
    }
    return true;
  }

  function visibleEntries() {
    const terms = parseQuery(state.query);
    return [...state.entries.values()].filter((e) => matches(e, terms)).sort(arrivalOrder).reverse();
  }

  // Rendering helpers ---------------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clock(date) {
    return date.toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function timeOf(entry) {
    const date = new Date(entry.time);
    return clock(date) + "." + String(date.getMilliseconds()).padStart(3, "0");
  }

  function ms(value) {
    if (value === null || value === undefined) return "–";
    if (value < 1) return value.toFixed(2) + " ms";
    if (value < 1000) return (value < 10 ? value.toFixed(1) : Math.round(value)) + " ms";
    return (value / 1000).toFixed(value < 10000 ? 2 : 1) + " s";
  }

  function number(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
  }

  function bytes(size) {
    if (size < 1024) return size + " B";
    if (size < 1024 * 1024) return (size / 1024).toFixed(1) + " KiB";
    return (size / 1024 / 1024).toFixed(1) + " MiB";
  }

  function statusPill(entry) {
    const cls = entry.status === null ? "broken"
      : entry.status === 429 ? "s429" : "s" + String(entry.status)[0];
    const label = entry.status === null ? entry.outcome : String(entry.status);
    const pill = el("span", { class: "pill " + cls, text: label });
    if (entry.status !== null && entry.outcome !== "sent") pill.append(" · " + entry.outcome);
    return pill;
  }

  function tokensOf(entry) {
    if (!entry.tokens) return null;
    return (entry.tokens.prompt || 0) + (entry.tokens.completion || 0);
  }

  // The requests table ----------------------------------------------------------------------------------------

  function row(entry) {
    const tags = el("span", { class: "tags" },
      entry.stream ? el("span", { class: "tag stream", text: "stream" }) : null,
      entry.fault ? el("span", { class: "tag fault", text: "fault " + entry.fault.kind }) : null,
      entry.retry ? el("span", { class: "tag retry", text: "retry of #" + entry.retry.of }) : null,
    );
    const scenario = entry.scenario
      ? el("td", { class: "c-scn", title: `${entry.scenario} · ${entry.rule || ""}` },
        el("span", { class: "rule-name", text: entry.rule || "–" }),
        el("span", { class: "scenario-name", text: entry.scenario }))
      : el("td", { class: "c-scn faint", text: "–" });
    const tr = el("tr", { tabindex: "0", "data-seq": entry.seq, onclick: () => select(entry.seq) },
      el("td", { class: "c-seq", text: entry.seq }),
      el("td", { class: "c-time mono", text: timeOf(entry) }),
      el("td", { class: "c-req", title: `${entry.method} ${entry.path}` },
        el("span", { class: "line" },
          el("span", { class: "method", text: entry.method }),
          el("span", { class: "op", text: entry.operation || entry.path }),
          tags),
        el("span", { class: "path", text: entry.path })),
      el("td", { class: "c-dep", text: entry.deployment || "–" }),
      el("td", { class: "c-status" }, statusPill(entry)),
      scenario,
      el("td", { class: "c-tok", text: number(tokensOf(entry)) }),
      el("td", { class: "c-dur", text: ms(entry.duration_ms) }),
    );
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(entry.seq);
      }
    });
    return tr;
  }

  function renderTable(fresh) {
    const shown = visibleEntries();
    const rows = shown.map((entry) => {
      let tr = state.rows.get(entry.seq);
      if (!tr || tr._entry !== entry) {
        tr = row(entry);
        tr._entry = entry;
        state.rows.set(entry.seq, tr);
        if (fresh && fresh.has(entry.seq)) tr.classList.add("new");
      }
      tr.setAttribute("aria-selected", String(entry.seq === state.selected));
      return tr;
    });
    $("rows").replaceChildren(...rows);
    const total = state.entries.size;
    $("empty").hidden = shown.length > 0;
    $("empty").querySelector(".big").textContent = total ? "No request matches" : "Waiting for requests";
    $("empty").querySelector("p:last-child").textContent = total
      ? "Change the search or the filters to see more."
      : "Point a client at this server: every request appears here as it is answered.";
    $("shown-count").textContent = total === shown.length ? `${total}` : `${shown.length} of ${total}`;
    renderStats();
  }

  function renderStats() {
    const all = [...state.entries.values()];
    const errors = all.filter(failed).length;
    const retries = all.filter((e) => e.retry).length;
    const tokens = all.reduce((sum, e) => sum + (tokensOf(e) || 0), 0);
    const durations = all.map((e) => e.duration_ms).sort((a, b) => a - b);
    const median = durations.length ? durations[Math.floor((durations.length - 1) / 2)] : null;
    const injected = state.faults ? state.faults.totals.injected : all.filter((e) => e.fault).length;
    $("stat-requests").textContent = number(all.length);
    $("stat-errors").textContent = number(errors);
    $("stat-errors").parentElement.classList.toggle("bad", errors > 0);
    $("stat-faults").textContent = number(injected);
    $("stat-faults").parentElement.classList.toggle("bad", injected > 0);
    $("stat-retries").textContent = number(retries);
    $("stat-retries").parentElement.classList.toggle("violet", retries > 0);
    $("stat-tokens").textContent = number(tokens);
    $("stat-median").textContent = median === null ? "–" : ms(median);
  }

  function refreshChoices() {
    const deployments = new Set();
    const operations = new Set();
    for (const entry of state.entries.values()) {
      if (entry.deployment) deployments.add(entry.deployment);
      if (entry.operation) operations.add(entry.operation);
    }
    fillSelect($("deployment-filter"), deployments, "All deployments", state.deployment);
    fillSelect($("operation-filter"), operations, "All operations", state.operation);
  }

  function fillSelect(select, values, label, current) {
    const wanted = ["", ...[...values].sort()];
    const have = [...select.options].map((o) => o.value);
    if (wanted.length === have.length && wanted.every((v, i) => v === have[i])) return;
    select.replaceChildren(...wanted.map((v) => el("option", { value: v, text: v || label })));
    select.value = wanted.includes(current) ? current : "";
  }

  // The detail drawer ---------------------------------------------------------------------------------------------

  function select(seq) {
    state.selected = seq;
    if (location.hash !== "#" + seq) history.replaceState(null, "", "#" + seq);
    for (const [key, tr] of state.rows) tr.setAttribute("aria-selected", String(key === seq));
    renderDetail();
  }

  function selectFromHash() {
    const seq = Number(location.hash.slice(1));
    if (state.entries.has(seq)) select(seq);
  }

  function closeDetail() {
    state.selected = null;
    $("detail").hidden = true;
    $("scrim").hidden = true;
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    for (const tr of state.rows.values()) tr.setAttribute("aria-selected", "false");
  }

  function seqLink(seq, label) {
    return el("button", { type: "button", class: "link", text: label || "#" + seq, onclick: () => select(seq) });
  }

  function renderDetail() {
    const entry = state.entries.get(state.selected);
    if (!entry) {
      closeDetail();
      return;
    }
    $("detail-kicker").replaceChildren(...[
      statusPill(entry),
      entry.stream ? el("span", { class: "tag stream", text: `stream · ${entry.events ?? 0} events` }) : null,
      entry.fault ? el("span", { class: "tag fault", text: "fault " + entry.fault.kind }) : null,
      entry.retry ? el("span", { class: "tag retry", text: "retry " + entry.retry.attempt }) : null,
      entry.scenario ? el("span", { class: "tag scenario", text: entry.scenario }) : null,
      el("span", { text: `#${entry.seq} · ${timeOf(entry)}` }),
    ].filter(Boolean));
    $("detail-title").textContent = `${entry.method} ${entry.path}`;
    const query = Object.entries(entry.query || {}).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]);
    const responseHeaders = Object.entries(entry.response_headers || {});
    $("detail-body").replaceChildren(...[
      facts(entry),
      timing(entry),
      bodySection("Request body", entry.body, entry.body_encoding, entry.body_size, entry.body_truncated),
      ...responseSections(entry),
      kvSection("Request headers", Object.entries(entry.headers || {})),
      query.length ? kvSection("Query", query) : null,
      responseHeaders.length ? kvSection("Response headers", responseHeaders) : null,
    ].filter(Boolean));
    $("detail").hidden = false;
    $("scrim").hidden = window.innerWidth > 1100;
  }

  function facts(entry) {
    const items = [];
    const add = (label, ...value) => {
      if (value.length === 0 || value[0] === null || value[0] === undefined || value[0] === "") return;
      items.push(el("dt", { text: label }), el("dd", {}, ...value));
    };
    add("Request id", el("span", { class: "mono", text: entry.id }));
    add("Received", entry.time);
    add("Operation", entry.operation);
    add("Deployment", entry.deployment);
    add("API version", entry.api_version);
    add("Scenario", entry.scenario);
    add("Rule", entry.rule);
    add("Responder", entry.responder);
    if (entry.fault) add("Fault", `${entry.fault.kind} · ${entry.fault.source}`, entry.fault.effect ? ` · ${entry.fault.effect}` : "");
    add("Outcome", entry.outcome === "sent" ? null : entry.outcome);
    if (entry.quota) {
      const q = entry.quota;
      add("Quota", `cost ${number(q.cost)} tokens · ${q.admitted ? "admitted" : "refused"}`,
        q.retry_after_ms ? ` · retry after ${ms(q.retry_after_ms)}` : "");
    }
    if (entry.tokens) add("Tokens", `${number(entry.tokens.prompt)} prompt · ${number(entry.tokens.completion)} completion`);
    if (entry.retry) {
      const r = entry.retry;
      add("Retry of", seqLink(r.of), ` · attempt ${r.attempt} · waited ${ms(r.wait_ms)} after `,
        r.after_status === null ? r.after_outcome : String(r.after_status));
    }
    const retriedBy = [...state.entries.values()].find((e) => e.retry && e.retry.of === entry.seq);
    if (retriedBy) add("Retried by", seqLink(retriedBy.seq), ` · after ${ms(retriedBy.retry.wait_ms)}`);
    if (entry.retry_count !== null && entry.retry_count !== undefined) add("SDK retry count", String(entry.retry_count));
    return el("dl", { class: "facts" }, items);
  }

  function timing(entry) {
    const total = entry.duration_ms || 0;
    const first = entry.timings.first_byte_ms ?? total;
    const bar = el("div", { class: "timeline", title: `first byte ${ms(first)}, last byte ${ms(total)}` });
    if (total > 0) {
      const wait = el("span", { class: "wait" });
      wait.style.width = `${(100 * first) / total}%`;
      const body = el("span", { class: "body" });
      body.style.left = `${(100 * first) / total}%`;
      body.style.width = `${Math.max(0.6, (100 * (total - first)) / total)}%`;
      bar.append(wait, body);
    }
    return el("div", { class: "section" },
      el("div", { class: "section-head" }, el("h3", { text: "Timing" }),
        el("span", { class: "meta", text: `first byte ${ms(entry.timings.first_byte_ms)} · last byte ${ms(entry.timings.last_byte_ms)}` })),
      bar);
  }

  function responseSections(entry) {
    const response = entry.response || {};
    const sections = [];
    const answer = answerText(entry);
    if (answer !== null) {
      sections.push(el("div", { class: "section" },
        el("div", { class: "section-head" }, el("h3", { text: "Answer" })),
        el("div", { class: "answer-text", text: answer || "(empty)" })));
    }
    if (response.sse) sections.push(eventsSection(response));
    else sections.push(bodySection("Response body", response.body, response.body_encoding, response.body_size || 0, response.body_truncated));
    return sections;
  }

  function answerText(entry) {
    const response = entry.response || {};
    if (response.sse) {
      let text = "";
      let any = false;
      for (const event of response.sse) {
        const data = event.data;
        if (!data || typeof data !== "object") continue;
        for (const choice of data.choices || []) {
          const piece = choice.delta ? choice.delta.content : choice.text;
          if (typeof piece === "string") {
            text += piece;
            any = true;
          }
        }
        if (data.type === "response.output_text.delta" && typeof data.delta === "string") {
          text += data.delta;
          any = true;
        }
      }
      return any ? text : null;
    }
    const body = response.body;
    if (!body || typeof body !== "object" || !Array.isArray(body.choices) || !body.choices.length) return null;
    const choice = body.choices[0];
    if (choice.message) {
      if (typeof choice.message.content === "string") return choice.message.content;
      if (typeof choice.message.refusal === "string") return "Refusal: " + choice.message.refusal;
      if (Array.isArray(choice.message.tool_calls)) {
        return choice.message.tool_calls.map((c) => `${c.function.name}(${c.function.arguments})`).join("\n");
      }
    }
    return typeof choice.text === "string" ? choice.text : null;
  }

  function sectionHead(title, meta, extra) {
    return el("div", { class: "section-head" }, el("h3", { text: title }),
      el("span", {}, extra || null, meta ? el("span", { class: "meta", text: meta }) : null));
  }

  function bodySection(title, body, encoding, size, truncated) {
    const meta = body === null || body === undefined
      ? "empty" : `${encoding} · ${bytes(size)}${truncated ? " · first 64 KiB" : ""}`;
    const pre = el("pre", { class: "code" });
    if (body === null || body === undefined) pre.textContent = "(no body)";
    else if (encoding === "json") pre.append(jsonNodes(body));
    else pre.textContent = body;
    return el("div", { class: "section" }, sectionHead(title, meta), pre);
  }

  function eventsSection(response) {
    const count = response.sse.filter((event) => event.data !== "[DONE]").length;
    const meta = `${count} events · ${bytes(response.body_size || 0)}${response.body_truncated ? " · first 64 KiB" : ""}`;
    const pre = el("pre", { class: "code" });
    const showEvents = () => {
      const nodes = [];
      response.sse.forEach((event, i) => {
        if (i) nodes.push("\n\n");
        if (event.event) nodes.push(el("span", { class: "sse-field", text: "event: " }), event.event, "\n");
        nodes.push(el("span", { class: "sse-field", text: "data: " }));
        nodes.push(typeof event.data === "string" ? event.data : jsonNodes(event.data, true));
      });
      pre.replaceChildren(...nodes);
    };
    const showRaw = () => { pre.textContent = response.body; };
    const events = el("button", { type: "button", "aria-pressed": "true", text: "Events" });
    const raw = el("button", { type: "button", "aria-pressed": "false", text: "Raw" });
    events.addEventListener("click", () => { events.setAttribute("aria-pressed", "true"); raw.setAttribute("aria-pressed", "false"); showEvents(); });
    raw.addEventListener("click", () => { raw.setAttribute("aria-pressed", "true"); events.setAttribute("aria-pressed", "false"); showRaw(); });
    showEvents();
    return el("div", { class: "section" }, sectionHead("Response stream", meta, el("span", { class: "tabs" }, events, raw)), pre);
  }

  function kvSection(title, pairs) {
    const rows = pairs.map(([name, value]) => el("tr", {},
      el("td", { text: name }),
      el("td", { class: value === "***" ? "masked" : null, text: value })));
    return el("div", { class: "section" }, sectionHead(title, `${pairs.length}`),
      el("table", { class: "kv" }, el("tbody", {}, rows)));
  }

  // JSON, coloured with spans whose text is set as text.
  function jsonNodes(value, compact) {
    const text = JSON.stringify(value);
    if (text.length > HIGHLIGHT_LIMIT) return document.createTextNode(JSON.stringify(value, null, 2));
    const fragment = document.createDocumentFragment();
    writeJson(fragment, value, compact ? null : "");
    return fragment;
  }

  function writeJson(out, value, indent) {
    const span = (cls, text) => out.append(el("span", { class: cls, text }));
    if (value === null || typeof value === "boolean") return span("j-lit", String(value));
    if (typeof value === "number") return span("j-num", String(value));
    if (typeof value === "string") return span("j-str", JSON.stringify(value));
    const inner = indent === null ? null : indent + "  ";
    const brk = (ind) => (ind === null ? "" : "\n" + ind);
    if (Array.isArray(value)) {
      if (!value.length) return out.append("[]");
      if (value.every((v) => typeof v === "number")) return span("j-num", "[" + value.join(", ") + "]");
      out.append("[");
      value.forEach((item, i) => {
        out.append((i ? "," : "") + brk(inner));
        writeJson(out, item, inner);
      });
      return out.append(brk(indent) + "]");
    }
    const keys = Object.keys(value);
    if (!keys.length) return out.append("{}");
    out.append("{");
    keys.forEach((key, i) => {
      out.append((i ? "," : "") + brk(inner));
      span("j-key", JSON.stringify(key));
      out.append(indent === null ? ":" : ": ");
      writeJson(out, value[key], inner);
    });
    return out.append(brk(indent) + "}");
  }

  // Side panels ---------------------------------------------------------------------------------------------------

  function renderSide() {
    renderScenarios();
    renderDeployments();
    renderFaults();
    renderStats();
  }

  function renderScenarios() {
    const box = $("scenarios");
    const data = state.scenarios ? state.scenarios.data : [];
    $("scenario-count").textContent = state.scenarios ? `${data.length} loaded` : "";
    if (!data.length) {
      box.replaceChildren(el("div", { class: "none" },
        "No scenario loaded. Start with ", el("code", { text: "--scenario NAME" }), " or POST one to ",
        el("code", { text: "/_mock/scenarios" }), "."));
      return;
    }
    const sorted = [...data].sort((a, b) => Number(b.active) - Number(a.active));
    box.replaceChildren(...sorted.map((s) => {
      const most = Math.max(1, ...s.rules.map((r) => r.hits));
      const rules = s.rules.map((r) => {
        const bar = el("span");
        bar.style.width = `${(100 * r.hits) / most}%`;
        return el("li", { class: "rule", "data-rule": r.name },
          el("button", { type: "button", class: "link name", title: "Show the requests this rule answered",
            text: r.name, onclick: () => setQuery(`scenario:${s.name} rule:${r.name}`) }),
          el("span", { class: "hits", text: `${number(r.hits)} ${r.hits === 1 ? "hit" : "hits"}` }),
          el("span", { class: "bar" }, bar));
      });
      return el("div", { class: "item", "data-scenario": s.name },
        el("div", { class: "item-head" },
          el("span", { class: "item-title", text: s.name }),
          s.active ? el("span", { class: "badge-active", text: "active" }) : null),
        el("div", { class: "item-sub", text: `${number(s.calls)} calls${s.description ? " · " + s.description : ""}` }),
        rules.length ? el("ul", { class: "rules" }, rules) : null);
    }));
  }

  function traffic() {
    const counts = new Map();
    for (const entry of state.entries.values()) {
      if (!entry.deployment) continue;
      const c = counts.get(entry.deployment) || { requests: 0, limited: 0 };
      c.requests += 1;
      if (entry.status === 429) c.limited += 1;
      counts.set(entry.deployment, c);
    }
    return counts;
  }

  function renderDeployments() {
    const box = $("deployments");
    const data = state.deployments ? state.deployments.data : [];
    $("deployment-count").textContent = state.deployments ? `${data.length}` : "";
    if (!data.length) {
      box.replaceChildren(el("div", { class: "none", text: state.deployments ? "No deployments." : "" }));
      return;
    }
    const counts = traffic();
    const notable = (d) => counts.has(d.name) || d.quota || d.utilization || paced(d) || d.source !== "config";
    const ranked = [...data].sort((a, b) => Number(notable(b)) - Number(notable(a)) ||
      (counts.get(b.name)?.requests || 0) - (counts.get(a.name)?.requests || 0));
    const first = ranked.filter(notable);
    const shown = state.allDeployments ? ranked : first.length ? first : ranked.slice(0, 4);
    const items = shown.map((d) => deploymentItem(d, counts.get(d.name)));
    if (shown.length < ranked.length) {
      items.push(el("button", { type: "button", class: "more", text: `Show all ${ranked.length} deployments`,
        onclick: () => { state.allDeployments = true; renderDeployments(); } }));
    } else if (state.allDeployments && ranked.length > Math.max(first.length, 4)) {
      items.push(el("button", { type: "button", class: "more", text: "Show fewer",
        onclick: () => { state.allDeployments = false; renderDeployments(); } }));
    }
    box.replaceChildren(...items);
  }

  function deploymentItem(d, count) {
    const sub = [d.model + (d.version ? " " + d.version : ""), d.kind];
    if (d.source !== "config") sub.push(d.source);
    const lines = [];
    if (d.utilization) {
      lines.push(utilization(d.utilization));
    } else if (d.quota) {
      lines.push(meter("Tokens", d.quota.tokens, "tokens"), meter("Requests", d.quota.requests, ""));
    } else {
      lines.push(el("div", { class: "item-sub",
        text: `${number(d.tokens_per_minute)} TPM · ${number(d.requests_per_minute)} RPM · quota not enforced` }));
    }
    if (paced(d)) {
      const p = d.pacing;
      const parts = [];
      if (p.time_to_first_token_ms) parts.push(`first token ${ms(p.time_to_first_token_ms)}`);
      if (p.tokens_per_second) parts.push(`${number(p.tokens_per_second)} tokens/s`);
      if (p.jitter) parts.push(`±${Math.round(p.jitter * 100)}%`);
      lines.push(el("div", { class: "item-sub", text: "Paced: " + parts.join(" · ") }));
    }
    const traffic = count ? `${number(count.requests)} req${count.limited ? ` · ${count.limited}×429` : ""}` : "";
    return el("div", { class: "item", "data-deployment": d.name },
      el("div", { class: "item-head" },
        el("button", { type: "button", class: "link item-title mono", text: d.name, title: "Show its requests",
          onclick: () => { state.deployment = d.name; $("deployment-filter").value = d.name; renderTable(); } }),
        el("span", { class: "faint", text: traffic })),
      el("div", { class: "item-sub", text: sub.join(" · ") }),
      lines);
  }

  function paced(d) {
    return d.paced ?? Boolean(d.pacing && (d.pacing.time_to_first_token_ms || d.pacing.tokens_per_second));
  }

  // A provisioned deployment: how full its capacity is (at 100% its requests get an immediate 429).
  function utilization(u) {
    const used = Math.max(0, Math.min(1, u.utilization / 100));
    const fill = el("span");
    fill.style.width = `${100 * used}%`;
    const spare = u.below_100_in_s > 0 ? ` · below 100% in ${ms(u.below_100_in_s * 1000)}` : "";
    return el("div", { class: "meter", "data-utilization": "",
      title: `${number(u.ptu)} PTU · ${number(u.capacity_tokens_per_minute)} tokens a minute${spare}` },
      el("span", { class: "muted", text: "Utilization" }),
      el("span", { class: "bar" + (used >= 0.8 ? " low" : "") }, fill),
      el("span", { class: "num", text: `${u.utilization.toFixed(1)}% of ${number(u.ptu)} PTU` }));
  }

  function meter(label, bucket, kind) {
    const fraction = bucket.capacity > 0 ? Math.max(0, Math.min(1, bucket.remaining / bucket.capacity)) : 0;
    const fill = el("span");
    fill.style.width = `${100 * fraction}%`;
    const cls = "bar" + (kind ? " " + kind : "") + (fraction < 0.2 ? " low" : "");
    const refill = bucket.full_in_s > 0 ? ` · full in ${ms(bucket.full_in_s * 1000)}` : "";
    return el("div", { class: "meter", title: `${number(bucket.remaining)} of ${number(Math.floor(bucket.capacity))} left${refill}` },
      el("span", { class: "muted", text: label }),
      el("span", { class: cls }, fill),
      el("span", { class: "num", text: `${number(bucket.remaining)} / ${number(Math.floor(bucket.capacity))}` }));
  }

  function renderFaults() {
    const box = $("faults");
    const faults = state.faults;
    if (!faults) {
      box.replaceChildren();
      $("fault-count").textContent = "";
      return;
    }
    const t = faults.totals;
    $("fault-count").textContent = `${number(t.injected)} injected`;
    const items = [];
    if (faults.installed.length) {
      items.push(el("div", { class: "subhead", text: "Installed" }));
      for (const f of faults.installed) {
        items.push(el("div", { class: "item", "data-fault-entry": f.id },
          el("div", { class: "item-head" },
            el("span", { class: "item-title" }, el("span", { class: "tag fault", text: f.kind }), " ", f.id),
            el("span", { class: "faint", text: f.exhausted ? "used up" : `fired ${number(f.fired)} of ${number(f.seen)}` })),
          el("div", { class: "item-sub", text: f.source + (f.description ? " · " + f.description : "") })));
      }
    }
    if (faults.injected.length) {
      items.push(el("div", { class: "subhead", text: `Injected · ${number(t.retried)} retried · ${number(t.not_retried)} not retried` }));
      for (const f of [...faults.injected].reverse()) items.push(injectedItem(f));
    }
    if (!items.length) {
      items.push(el("div", { class: "none" }, "No fault injected yet. Send ", el("code", { text: "x-aoai-mock-fault: 429" }),
        " or POST a plan to ", el("code", { text: "/_mock/faults" }), "."));
    }
    box.replaceChildren(...items);
  }

  function injectedItem(f) {
    const c = f.client || {};
    const answer = c.answer === "retried"
      ? `retried after ${ms(c.after_ms)}${c.faulted_again ? " · faulted again" : ""}`
      : c.answer === "not retried" ? `not retried (${ms(c.waited_ms)} so far)` : c.answer || "";
    const target = [...state.entries.values()].find((e) => e.id && e.id === f.request_id);
    return el("div", { class: "item", "data-injection": f.n },
      el("div", { class: "fault-line" },
        el("span", { class: "tag fault", text: f.kind }),
        el("span", { class: "what", text: [f.deployment, f.operation].filter(Boolean).join(" · ") + (f.stream ? " · stream" : "") }),
        target ? seqLink(target.seq, "#" + target.seq) : el("span", { class: "faint", text: `at ${f.time_s}s` })),
      el("div", { class: "item-sub", text: `${f.source} · ${answer}` }));
  }

  // Controls --------------------------------------------------------------------------------------------------------

  function setStatus(kind, text, detail) {
    $("status").dataset.state = kind;
    $("status-text").textContent = text;
    $("status-detail").textContent = detail || "";
  }

  function setQuery(text) {
    $("search").value = text;
    state.query = text;
    renderTable();
  }

  function wire() {
    let typing = null;
    $("search").addEventListener("input", (event) => {
      clearTimeout(typing);
      typing = setTimeout(() => { state.query = event.target.value; renderTable(); }, 120);
    });
    for (const button of $("status-filter").querySelectorAll("button")) {
      button.addEventListener("click", () => {
        state.show = button.dataset.show;
        for (const other of $("status-filter").querySelectorAll("button")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        renderTable();
      });
    }
    $("deployment-filter").addEventListener("change", (event) => { state.deployment = event.target.value; renderTable(); });
    $("operation-filter").addEventListener("change", (event) => { state.operation = event.target.value; renderTable(); });
    $("pause").addEventListener("click", () => {
      state.paused = !state.paused;
      $("pause").setAttribute("aria-pressed", String(state.paused));
      $("pause").textContent = state.paused ? "Resume" : "Pause";
      if (state.paused) {
        if (state.timer !== null) clearTimeout(state.timer);
        state.timer = null;
        setStatus("paused", "Paused");
      } else {
        pollNow();
      }
    });
    $("lock").addEventListener("click", () => {
      try { sessionStorage.removeItem(KEY_STORE); } catch (_) { /* see lock() */ }
      lock();
      $("key-error").hidden = true;
    });
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key-input").value.trim();
      if (key) unlock(key);
    });
    $("detail-close").addEventListener("click", closeDetail);
    $("scrim").addEventListener("click", closeDetail);
    document.addEventListener("keydown", (event) => {
      const typingInField = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
      if (event.key === "Escape" && !$("detail").hidden) closeDetail();
      else if (event.key === "/" && !typingInField) {
        event.preventDefault();
        $("search").focus();
      } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && state.selected !== null && !typingInField) {
        const shown = visibleEntries().map((e) => e.seq);
        const at = shown.indexOf(state.selected);
        const next = shown[at + (event.key === "ArrowDown" ? 1 : -1)];
        if (next !== undefined) {
          event.preventDefault();
          select(next);
          state.rows.get(next)?.scrollIntoView({ block: "nearest" });
        }
      }
    });
    window.addEventListener("hashchange", selectFromHash);
    $("lock").hidden = !adminKey();
  }

  wire();
  poll();
})();
