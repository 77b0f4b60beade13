/* ScrollIntel lineage explorer.
 *
 * Draws the lineage graph in the browser from the lineage store's JSON API (Marquez's shapes plus
 * a `scrollintel` object per node) with the vendored Cytoscape.js and its dagre layout. Plain
 * modern JS, no build step; the pages' content security policy allows same-origin scripts only,
 * so nothing here evaluates strings, sets inline styles or uses inline event handlers.
 *
 * The page (templates/lineage.html) hands over the API paths as data-* attributes of #si-lineage.
 * Node ids are Marquez's ("dataset:<ns>:<name>", "job:<ns>:<name>",
 * "datasetField:<ns>:<name>:<field>"); they are never split, because namespaces hold colons
 * (postgres://warehouse:5432): names are read from each node's data instead.
 */
(() => {
  "use strict";

  const root = document.getElementById("si-lineage");
  if (!root) return;

  const SEARCH_DELAY_MS = 200;
  const SEARCH_LIMIT = 20;
  const LABEL_MAX = 30;
  const CYTOSCAPE_STYLESHEET_ID = "__________cytoscape_stylesheet";
  const DATASET = "DATASET";
  const JOB = "JOB";
  const FIELD = "DATASET_FIELD";

  const urls = {
    lineage: root.dataset.lineageUrl,
    column: root.dataset.columnUrl,
    search: root.dataset.searchUrl,
    impact: root.dataset.impactUrl,
    pii: root.dataset.piiUrl,
    cost: root.dataset.costUrl,
    costPage: root.dataset.costPageUrl,
  };
  const el = {
    query: document.getElementById("si-lineage-q"),
    results: document.getElementById("si-lineage-results"),
    depth: document.getElementById("si-lineage-depth"),
    status: document.getElementById("si-lineage-status"),
    graph: document.getElementById("si-graph"),
    list: document.getElementById("si-graph-list"),
    side: document.getElementById("si-lineage-side"),
    upstream: root.querySelector('[data-action="expand-up"]'),
    downstream: root.querySelector('[data-action="expand-down"]'),
    columns: root.querySelector('[data-action="columns"]'),
    fit: root.querySelector('[data-action="fit"]'),
    exportCsv: root.querySelector('[data-export="csv"]'),
    exportJson: root.querySelector('[data-export="json"]'),
  };

  /** What is drawn: Marquez nodes by id, edges by "origin>destination", and the column view's fields. */
  const state = {
    nodes: new Map(),
    edges: new Map(),
    /** Datasets at the edge of what was loaded: more lineage may lie beyond them. */
    frontier: new Set(),
    expanded: new Set(),
    fields: new Map(),
    fieldEdges: new Map(),
    columnsOf: null,
    selected: null,
    busy: 0,
  };

  // -- small helpers --------------------------------------------------------------------------

  /** Create an element; strings become text nodes (never HTML), "on*" keys event listeners. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false || child === "") continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function withQuery(base, params) {
    const url = new URL(base, window.location.href);
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, String(value));
    }
    return url.pathname + url.search;
  }

  /** GET a JSON document of the API; an error carries the API's own message (its "detail"). */
  async function getJson(base, params, signal) {
    const response = await fetch(withQuery(base, params), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal,
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.status === 401) {
      throw new Error("your Airflow session has ended: reload the page to sign in again (HTTP 401)");
    }
    if (!response.ok) {
      const detail = body && body.detail ? describeDetail(body.detail) : response.statusText;
      throw new Error(`${detail} (HTTP ${response.status})`);
    }
    return body;
  }

  function describeDetail(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((item) => `${(item.loc || []).join(".")}: ${item.msg || JSON.stringify(item)}`).join("; ");
    }
    return JSON.stringify(detail);
  }

  function setStatus(message, kind) {
    el.status.textContent = message;
    el.status.classList.toggle("si-lineage__status--bad", kind === "bad");
  }

  async function busy(task) {
    state.busy += 1;
    root.setAttribute("aria-busy", "true");
    try {
      return await task();
    } finally {
      state.busy -= 1;
      if (state.busy === 0) root.removeAttribute("aria-busy");
    }
  }

  /** ``text`` with line-break opportunities after dots and slashes: long dataset names wrap between parts. */
  function breakable(text) {
    return String(text)
      .split(/(?<=[./])/)
      .flatMap((part, index) => (index ? [document.createElement("wbr"), part] : [part]));
  }

  function shorten(text, max = LABEL_MAX) {
    return text.length > max ? `…${text.slice(text.length - max + 1)}` : text;
  }

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  function formatTime(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  }

  function timeAgo(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return "";
    const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  }

  function duration(ms) {
    if (!Number.isFinite(ms) || ms < 0) return "";
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  }

  // -- reading the API's nodes ----------------------------------------------------------------

  function extra(data) {
    return (data && data.scrollintel) || {};
  }

  function nameOf(node) {
    const data = node.data || {};
    if (node.type === FIELD) return data.field || node.id;
    return data.name || (data.id && data.id.name) || node.id;
  }

  function namespaceOf(node) {
    const data = node.data || {};
    return data.namespace || (data.id && data.id.namespace) || "";
  }

  /** Classification entries of one field: {classId, status: classified|inherited|origin|anonymised, ...}. */
  function classesOf(node, field) {
    if (node.type === FIELD) return extra(node.data).classification || [];
    return (extra(node.data).classification || {})[field] || [];
  }

  /** Entries saying the field holds personal data (anonymised ones say it arrives masked). */
  function held(entries) {
    return entries.filter((entry) => entry.status !== "anonymised");
  }

  /** PII state of one field: "pii" (holds it), "masked" (arrives anonymised) or null. */
  function piiState(entries) {
    if (held(entries).length) return "pii";
    return entries.length ? "masked" : null;
  }

  /** A dataset's fields that hold personal data, and those that only receive it anonymised. */
  function piiOf(node) {
    const classification = extra(node.data).classification || {};
    const clear = [];
    const masked = [];
    for (const [field, entries] of Object.entries(classification)) {
      const kind = piiState(entries);
      if (kind === "pii") clear.push(field);
      else if (kind === "masked") masked.push(field);
    }
    return { clear, masked };
  }

  function classLabel(entry) {
    const id = entry.classId || "classified";
    switch (entry.status) {
      case "anonymised":
        return `${id} · masked`;
      case "inherited":
        return `${id} · inherited`;
      case "origin":
        return `${id} · source`;
      default:
        return id;
    }
  }

  function classTitle(entry) {
    const notes = [];
    if (entry.status === "anonymised") notes.push(`Arrives anonymised${entry.method ? ` (${entry.method})` : ""}`);
    if (entry.status === "inherited" && entry.from) notes.push(`Column lineage brings it from ${entry.from}`);
    if (entry.status === "origin" && entry.of) notes.push(`Source of the classified column ${entry.of}`);
    if (entry.status === "classified" && entry.source) notes.push(`Classified by ${entry.source}`);
    if (entry.masking && entry.status !== "anonymised") notes.push(`masking policy downstream: ${entry.masking}`);
    if (entry.sensitivity) notes.push(`sensitivity ${entry.sensitivity}`);
    return notes.join("; ") || null;
  }

  /** The last run of a job (Marquez latestRun) or of the job that last wrote a dataset. */
  function runOf(node) {
    const data = node.data || {};
    const latest = data.latestRun;
    if (latest) {
      return {
        state: latest.state,
        at: latest.endedAt || latest.startedAt || latest.updatedAt,
        startedAt: latest.startedAt,
        endedAt: latest.endedAt,
        durationMs: latest.durationMs,
        job: null,
      };
    }
    const last = extra(data).lastRun;
    return last ? { state: last.state, at: last.at, job: last.job || null } : null;
  }

  function runKind(stateName) {
    const s = String(stateName || "").toUpperCase();
    if (s === "FAILED" || s === "ABORTED") return "bad";
    if (s === "COMPLETED") return "ok";
    return "warn";
  }

  function ownersOf(node) {
    return (extra(node.data).owners || []).map((owner) =>
      typeof owner === "string"
        ? { label: owner, title: null }
        : { label: owner.name || owner.team, title: owner.reason || null },
    );
  }

  // -- merging API answers into what is drawn --------------------------------------------------

  function edgeKey(edge) {
    return `${edge.origin}>${edge.destination}`;
  }

  function indexGraph(body) {
    return new Map(((body && body.graph) || []).map((node) => [node.id, node]));
  }

  function addEdges(nodes, edges, index) {
    for (const node of index.values()) {
      for (const edge of [...(node.inEdges || []), ...(node.outEdges || [])]) {
        if (nodes.has(edge.origin) && nodes.has(edge.destination)) edges.set(edgeKey(edge), edge);
      }
    }
  }

  /** Add a lineage answer walked ``depth`` hops: returns how many nodes are new. */
  function merge(body, depth) {
    const index = indexGraph(body);
    let added = 0;
    for (const node of index.values()) {
      const isNew = !state.nodes.has(node.id);
      if (isNew) added += 1;
      state.nodes.set(node.id, node);
      const reached = extra(node.data).depth;
      const inside = typeof reached === "number" && reached < depth;
      if (inside || state.expanded.has(node.id) || node.type !== DATASET) state.frontier.delete(node.id);
      else if (isNew) state.frontier.add(node.id);
    }
    addEdges(state.nodes, state.edges, index);
    return added;
  }

  // -- the graph canvas ---------------------------------------------------------------------

  /** A CSS colour in any syntax the browser knows (oklch included) as the rgb() Cytoscape reads. */
  const swatch = document.createElement("canvas").getContext("2d", { willReadFrequently: true });

  function cssColour(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
    swatch.clearRect(0, 0, 1, 1);
    swatch.fillStyle = fallback;
    swatch.fillStyle = value;
    swatch.fillRect(0, 0, 1, 1);
    const [r, g, b] = swatch.getImageData(0, 0, 1, 1).data;
    return `rgb(${r}, ${g}, ${b})`;
  }

  function graphStyle() {
    const c = {
      bg: cssColour("--si-bg", "#ffffff"),
      subtle: cssColour("--si-bg-subtle", "#f7f8fa"),
      fg: cssColour("--si-fg", "#1a202c"),
      muted: cssColour("--si-fg-muted", "#4a5568"),
      border: cssColour("--si-border", "#e2e8f0"),
      accent: cssColour("--si-accent", "#2b6cb0"),
      accentSubtle: cssColour("--si-accent-subtle", "#ebf4ff"),
      ok: cssColour("--si-ok", "#2f855a"),
      bad: cssColour("--si-bad", "#c53030"),
      badSubtle: cssColour("--si-bad-subtle", "#fff5f5"),
      warn: cssColour("--si-warn", "#b7791f"),
    };
    return [
      {
        selector: "node",
        style: {
          label: "data(label)",
          "font-family": getComputedStyle(document.body).fontFamily,
          "font-size": 12,
          color: c.fg,
          "text-wrap": "wrap",
          "text-max-width": 196,
          "line-height": 1.3,
          "text-valign": "center",
          "text-halign": "center",
          "background-color": c.subtle,
          "border-width": 1,
          "border-color": c.border,
          shape: "round-rectangle",
          width: 210,
          height: 42,
        },
      },
      {
        selector: "node.job",
        style: { shape: "cut-rectangle", "background-color": c.accentSubtle, "border-color": c.accent, height: 56 },
      },
      { selector: "node.run-ok", style: { "border-color": c.ok } },
      { selector: "node.run-warn", style: { "border-color": c.warn, "border-width": 2 } },
      {
        selector: "node.run-bad",
        style: { "border-color": c.bad, "border-width": 2, "background-color": c.badSubtle },
      },
      { selector: "node.pii", style: { "border-color": c.bad, "border-width": 2 } },
      { selector: "node.masked", style: { "border-color": c.warn, "border-width": 2 } },
      { selector: "node.frontier", style: { "border-style": "dashed" } },
      { selector: "node.start", style: { "font-weight": "bold" } },
      {
        selector: "node:selected",
        style: {
          "overlay-color": c.accent,
          "overlay-opacity": 0.12,
          "overlay-padding": 6,
          "border-color": c.accent,
          "border-width": 3,
        },
      },
      {
        selector: "node.columns",
        style: {
          "text-valign": "top",
          "text-margin-y": -4,
          "font-weight": "bold",
          "background-opacity": 0.5,
          padding: 10,
        },
      },
      { selector: "node.field", style: { width: 196, height: 30, "font-size": 11, "background-color": c.bg } },
      { selector: "node.field.pii", style: { color: c.bad } },
      {
        selector: "edge",
        style: {
          width: 1.5,
          "curve-style": "bezier",
          "line-color": c.muted,
          "target-arrow-color": c.muted,
          "target-arrow-shape": "triangle",
          "arrow-scale": 0.9,
          opacity: 0.75,
        },
      },
      { selector: "edge.field-edge", style: { "line-color": c.accent, "target-arrow-color": c.accent, width: 1.2 } },
      {
        selector: "edge.masking",
        style: { "line-style": "dashed", "line-color": c.warn, "target-arrow-color": c.warn },
      },
      {
        selector: "edge.highlight",
        style: { "line-color": c.accent, "target-arrow-color": c.accent, width: 2.5, opacity: 1 },
      },
    ];
  }

  function registerLayout() {
    if (typeof window.cytoscape !== "function") return false;
    // cytoscape-dagre registers itself when it finds window.cytoscape; register it only if it did not.
    if (typeof window.cytoscapeDagre === "function" && !window.cytoscape("layout", "dagre")) {
      window.cytoscape.use(window.cytoscapeDagre);
    }
    return typeof window.cytoscape("layout", "dagre") === "function";
  }

  let cy = null;

  function createGraph() {
    // Cytoscape adds a <style> element unless one with this id exists; the CSP forbids inline
    // styles and scrollintel.css already positions the container, so say it is there.
    if (!document.getElementById(CYTOSCAPE_STYLESHEET_ID)) {
      document.head.append(
        h("meta", { id: CYTOSCAPE_STYLESHEET_ID, name: "cytoscape-stylesheet", content: "scrollintel.css" }),
      );
    }
    cy = window.cytoscape({
      container: el.graph,
      style: graphStyle(),
      minZoom: 0.1,
      maxZoom: 2.5,
      boxSelectionEnabled: false,
      selectionType: "single",
    });
    cy.on("tap", "node", (event) => select(event.target.id()));
    cy.on("dbltap", "node", (event) => {
      if (!columnView()) expand(event.target.id(), "both");
    });
    cy.on("tap", (event) => {
      if (event.target === cy) select(null);
    });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => cy.style(graphStyle()));
  }

  /** "warehouse.raw.shop__orders" -> ["raw.shop__orders", "warehouse"]: the table, then its database. */
  function splitDatasetName(name) {
    const parts = name.split(".");
    if (parts.length < 3) return [name, ""];
    return [parts.slice(-2).join("."), parts.slice(0, -2).join(".")];
  }

  /** "transform_warehouse.dbt.orders.run" -> ["dbt.orders.run", "transform_warehouse"]: "<dag_id>.<task_id>". */
  function splitJobName(name) {
    const dot = name.indexOf(".");
    return dot > 0 ? [name.slice(dot + 1), name.slice(0, dot)] : [name, ""];
  }

  function datasetLabel(node) {
    const pii = piiOf(node);
    const [table, database] = splitDatasetName(nameOf(node));
    const meta = [database];
    if (pii.clear.length) meta.push(`PII ${pii.clear.length}`);
    else if (pii.masked.length) meta.push("PII masked");
    return [shorten(table), meta.filter(Boolean).join(" · ")].filter(Boolean).join("\n");
  }

  function jobLabel(node) {
    const run = runOf(node);
    const [task, dag] = splitJobName(nameOf(node));
    const status = run && run.state ? `${run.state.toLowerCase()} ${timeAgo(run.at)}`.trim() : "no run yet";
    return [shorten(task), dag ? shorten(dag) : null, status].filter(Boolean).join("\n");
  }

  function nodeClasses(node) {
    const classes = [node.type === JOB ? "job" : "dataset"];
    if (node.type === JOB) {
      const run = runOf(node);
      if (run && run.state) classes.push(`run-${runKind(run.state)}`);
    } else {
      const pii = piiOf(node);
      if (pii.clear.length) classes.push("pii");
      else if (pii.masked.length) classes.push("masked");
      if (state.frontier.has(node.id)) classes.push("frontier");
    }
    return classes.join(" ");
  }

  function graphElements() {
    const nodes = [...state.nodes.values()].map((node) => ({
      group: "nodes",
      data: { id: node.id, label: node.type === JOB ? jobLabel(node) : datasetLabel(node) },
      classes: nodeClasses(node),
    }));
    const edges = [...state.edges.values()].map((edge) => ({
      group: "edges",
      data: { id: edgeKey(edge), source: edge.origin, target: edge.destination },
    }));
    return [...nodes, ...edges];
  }

  /** Id of the dataset box a field is drawn in (built from names; only used as a drawing id). */
  function parentOf(field) {
    const data = field.data || {};
    return `dataset:${data.namespace}:${data.dataset}`;
  }

  function columnElements() {
    const parents = new Map();
    const nodes = [];
    for (const field of state.fields.values()) {
      const parent = parentOf(field);
      if (!parents.has(parent)) {
        const [table, database] = splitDatasetName(field.data.dataset || "");
        const label = database ? `${table} · ${database}` : table;
        parents.set(parent, { group: "nodes", data: { id: parent, label: shorten(label, 48) }, classes: "columns" });
      }
      const entries = classesOf(field, null);
      const kind = piiState(entries);
      const type = String(field.data.fieldType || "").toLowerCase();
      const lines = [type && type !== "unknown" ? `${nameOf(field)} : ${type}` : nameOf(field)];
      if (kind === "pii")
        lines.push(
          `PII ${held(entries)
            .map((e) => e.classId)
            .join(", ")}`,
        );
      else if (kind === "masked") lines.push("PII anonymised");
      nodes.push({
        group: "nodes",
        data: { id: field.id, parent, label: lines.join("\n") },
        classes: ["field", kind === "pii" ? "pii" : kind === "masked" ? "masked" : ""].join(" ").trim(),
      });
    }
    const edges = [...state.fieldEdges.values()].map((edge) => {
      const target = state.fields.get(edge.destination);
      const masking = target && piiState(classesOf(target, null)) === "masked";
      return {
        group: "edges",
        data: { id: edgeKey(edge), source: edge.origin, target: edge.destination },
        classes: masking ? "field-edge masking" : "field-edge",
      };
    });
    return [...parents.values(), ...nodes, ...edges];
  }

  function columnView() {
    return el.columns.getAttribute("aria-pressed") === "true";
  }

  /**
   * Lay the graph out left to right, or top to bottom when that shows it larger: a long pipeline
   * (source -> raw -> staging -> marts, with a job between each) is much wider than tall, and a
   * readable label matters more than a fixed direction.
   */
  function layout(columns) {
    const options = (rankDir) => ({
      name: "dagre",
      rankDir,
      nodeSep: columns ? 10 : 14,
      rankSep: columns ? 80 : rankDir === "LR" ? 36 : 40,
      edgeSep: 10,
      fit: true,
      padding: 24,
      animate: false,
    });
    cy.layout(options("LR")).run();
    if (columns || cy.zoom() >= 0.8) return "LR";
    const wide = cy.zoom();
    cy.layout(options("TB")).run();
    if (cy.zoom() > wide * 1.15) return "TB";
    cy.layout(options("LR")).run();
    return "LR";
  }

  function render() {
    const columns = columnView();
    cy.batch(() => {
      cy.elements().remove();
      cy.add(columns ? columnElements() : graphElements());
    });
    const start = new URL(window.location.href).searchParams.get("nodeId");
    if (start) cy.getElementById(start).addClass("start");
    layout(columns);
    // What is drawn, for assistive tools and the browser tests.
    root.dataset.view = columns ? "columns" : "graph";
    root.dataset.nodes = String(cy.nodes().not(".columns").length);
    root.dataset.edges = String(cy.edges().length);
    renderList(columns);
  }

  /** The drawn nodes as a list of buttons: the graph for keyboards and screen readers. */
  function renderList(columns) {
    const nodes = columns ? [...state.fields.values()] : [...state.nodes.values()];
    const describe = (node) => {
      if (node.type === FIELD) {
        const kind = piiState(classesOf(node, null));
        return [
          `column ${node.data.dataset}.${nameOf(node)}`,
          kind === "pii" ? "PII" : kind === "masked" ? "PII anonymised" : "",
        ];
      }
      if (node.type === JOB) {
        const run = runOf(node);
        return [
          `job ${nameOf(node)}`,
          run && run.state ? `last run ${run.state.toLowerCase()} ${timeAgo(run.at)}` : "no run yet",
        ];
      }
      const pii = piiOf(node);
      return [
        `dataset ${nameOf(node)}`,
        pii.clear.length ? `PII in ${plural(pii.clear.length, "column")}` : pii.masked.length ? "PII anonymised" : "",
        state.frontier.has(node.id) ? "more lineage may lie beyond" : "",
      ];
    };
    const items = nodes
      .map((node) => [node, describe(node)])
      .sort((a, b) => a[1][0].localeCompare(b[1][0]))
      .map(([node, [label, ...notes]]) =>
        h(
          "li",
          { "data-node-id": node.id },
          h("button", { type: "button", class: "si-link-button", text: label, onclick: () => select(node.id) }),
          notes.filter(Boolean).length
            ? h("span", { class: "si-muted", text: ` · ${notes.filter(Boolean).join(" · ")}` })
            : "",
        ),
      );
    el.list.replaceChildren(...items);
  }

  // -- actions --------------------------------------------------------------------------------

  function hops() {
    return plural(depth(), "hop");
  }

  function depth() {
    return Number.parseInt(el.depth.value, 10) || 1;
  }

  function rememberInUrl(nodeId) {
    const url = new URL(window.location.href);
    url.searchParams.set("nodeId", nodeId);
    url.searchParams.set("depth", String(depth()));
    url.searchParams.delete("q");
    window.history.replaceState(null, "", url.pathname + url.search);
  }

  /** Start over on ``nodeId``: its lineage ``depth`` hops both ways. */
  async function open(nodeId, { remember = true } = {}) {
    await busy(async () => {
      setStatus(`Loading the lineage of ${nodeId} …`);
      let body;
      try {
        body = await getJson(urls.lineage, { nodeId, depth: depth() });
      } catch (err) {
        setStatus(`Could not load the lineage of ${nodeId}: ${err.message}`, "bad");
        return;
      }
      for (const collection of [
        state.nodes,
        state.edges,
        state.frontier,
        state.expanded,
        state.fields,
        state.fieldEdges,
      ]) {
        collection.clear();
      }
      state.columnsOf = null;
      el.columns.setAttribute("aria-pressed", "false");
      state.expanded.add(nodeId);
      merge(body, depth());
      if (remember) rememberInUrl(nodeId);
      render();
      select(state.nodes.has(nodeId) ? nodeId : null);
      setStatus(overview());
    });
  }

  function overview() {
    const datasets = [...state.nodes.values()].filter((node) => node.type === DATASET).length;
    const jobs = state.nodes.size - datasets;
    const hint = state.frontier.size ? " Dashed datasets may have more lineage: double-click one to expand it." : "";
    return `${plural(datasets, "dataset")} and ${plural(jobs, "job")}, ${hops()} each way.${hint}`;
  }

  /** Add one more hop around ``nodeId``: "up", "down" or "both". */
  async function expand(nodeId, direction) {
    const node = state.nodes.get(nodeId);
    if (!node || columnView()) return;
    const apiDirection = { up: "upstream", down: "downstream", both: "both" }[direction];
    await busy(async () => {
      setStatus(`Expanding ${nameOf(node)} …`);
      let body;
      try {
        body = await getJson(urls.lineage, { nodeId, depth: 1, direction: apiDirection });
      } catch (err) {
        setStatus(`Could not expand ${nameOf(node)}: ${err.message}`, "bad");
        return;
      }
      if (direction === "both") state.expanded.add(nodeId);
      state.frontier.delete(nodeId);
      const added = merge(body, 1);
      render();
      select(nodeId);
      const where = direction === "both" ? "" : ` ${apiDirection}`;
      setStatus(
        added
          ? `Added ${plural(added, "node")}${where} of ${nameOf(node)}. ${overview()}`
          : `Nothing more${where} of ${nameOf(node)}: all of its lineage is shown.`,
      );
    });
  }

  /** Switch the column view on for the selected dataset, or back to datasets and jobs. */
  async function toggleColumns() {
    if (columnView()) {
      el.columns.setAttribute("aria-pressed", "false");
      render();
      select(state.columnsOf);
      setStatus(overview());
      return;
    }
    const dataset = state.selected ? state.nodes.get(state.selected) : null;
    if (!dataset || dataset.type !== DATASET) {
      setStatus("Select a dataset first: the column view shows where its columns come from and go to.", "bad");
      return;
    }
    await busy(async () => {
      setStatus(`Loading the column lineage of ${nameOf(dataset)} …`);
      let body;
      try {
        body = await getJson(urls.column, { nodeId: dataset.id, depth: depth(), withDownstream: true });
      } catch (err) {
        setStatus(`Could not load the column lineage of ${nameOf(dataset)}: ${err.message}`, "bad");
        return;
      }
      const index = indexGraph(body);
      state.fields.clear();
      state.fieldEdges.clear();
      for (const node of index.values()) if (node.type === FIELD) state.fields.set(node.id, node);
      addEdges(state.fields, state.fieldEdges, index);
      if (!state.fieldEdges.size) {
        setStatus(`No column lineage recorded for ${nameOf(dataset)}.`, "bad");
        return;
      }
      state.columnsOf = dataset.id;
      el.columns.setAttribute("aria-pressed", "true");
      render();
      select(null);
      const boxes = new Set([...state.fields.values()].map(parentOf)).size;
      setStatus(
        `Columns of ${nameOf(dataset)}: ${plural(state.fields.size, "column")} in ${plural(boxes, "dataset")}, ` +
          `${plural(state.fieldEdges.size, "column edge")}, ${hops()} each way. Click a column for details.`,
      );
    });
  }

  // -- selection and the side panel -----------------------------------------------------------

  function select(id) {
    state.selected = id;
    cy.nodes().unselect();
    cy.edges().removeClass("highlight");
    const node = id ? state.nodes.get(id) || state.fields.get(id) : null;
    if (node) {
      const drawn = cy.getElementById(id);
      drawn.select();
      drawn.connectedEdges().addClass("highlight");
    }
    const onGraph = Boolean(node) && !columnView();
    el.upstream.setAttribute("aria-disabled", String(!onGraph));
    el.downstream.setAttribute("aria-disabled", String(!onGraph));
    el.columns.setAttribute("aria-disabled", String(!(columnView() || (node && node.type === DATASET))));
    for (const [link, format] of [
      [el.exportCsv, "csv"],
      [el.exportJson, "json"],
    ]) {
      if (node) {
        link.href = withQuery(urls.impact, { nodeId: id, format });
        link.setAttribute("download", `impact-${nameOf(node).replace(/[^A-Za-z0-9._-]+/g, "_")}.${format}`);
        link.setAttribute("aria-disabled", "false");
        link.title = `Everything downstream of ${nameOf(node)}, with owners, as ${format.toUpperCase()}`;
      } else {
        link.removeAttribute("href");
        link.setAttribute("aria-disabled", "true");
        link.title = "Select a node first";
      }
    }
    renderSide(node);
  }

  function badge(text, kind, title) {
    return h("span", { class: `si-badge${kind ? ` si-badge--${kind}` : ""}`, text, title });
  }

  function kv(pairs) {
    const list = h("dl", { class: "si-kv" });
    for (const [key, value] of pairs) {
      if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) continue;
      list.append(h("dt", { text: key }), h("dd", {}, value));
    }
    return list;
  }

  function button(text, onclick, title) {
    return h("button", { type: "button", class: "si-button si-button--small", text, title, onclick });
  }

  function renderSide(node) {
    el.side.replaceChildren();
    if (!node) {
      const hint = columnView()
        ? "Click a column to see its type, classification and where it comes from."
        : "Select a dataset or job in the graph to see its schema, owners, classification, quality and last run.";
      el.side.append(h("p", { class: "si-muted", text: hint }));
      return;
    }
    const parts = node.type === JOB ? jobPanel(node) : node.type === FIELD ? fieldPanel(node) : datasetPanel(node);
    el.side.append(...parts, impactSection(node));
  }

  function panelHead(kind, title, subtitle) {
    return [
      h("p", { class: "si-lineage__kind" }, badge(kind)),
      h("h2", { class: "si-lineage__title" }, breakable(title)),
      subtitle ? h("p", { class: "si-muted si-break" }, h("code", { text: subtitle })) : null,
    ].filter(Boolean);
  }

  function runText(run) {
    return h(
      "span",
      {},
      badge(String(run.state || "unknown").toLowerCase(), runKind(run.state)),
      run.at ? ` ${formatTime(run.at)} (${timeAgo(run.at)})` : "",
      Number.isFinite(run.durationMs)
        ? h("span", { class: "si-muted", text: ` · took ${duration(run.durationMs)}` })
        : "",
    );
  }

  function qualityText(quality) {
    const status = String(quality.status || "unknown");
    const lower = status.toLowerCase();
    const kind = ["passed", "pass", "success", "succeeded", "ok"].includes(lower)
      ? "ok"
      : ["failed", "fail", "error", "blocked"].includes(lower)
        ? "bad"
        : "warn";
    return h(
      "span",
      { title: quality.source || null },
      badge(lower, kind),
      quality.checkedAt ? ` ${timeAgo(quality.checkedAt)}` : "",
    );
  }

  function ownersText(node) {
    const owners = ownersOf(node);
    if (!owners.length) return h("span", { class: "si-muted", text: "none recorded" });
    return h(
      "span",
      {},
      owners.map((owner, index) => [index ? ", " : "", h("span", { title: owner.title, text: owner.label })]),
    );
  }

  function nodeLink(nodeId, text) {
    return h(
      "a",
      {
        href: `?nodeId=${encodeURIComponent(nodeId)}`,
        onclick: (event) => {
          event.preventDefault();
          open(nodeId);
        },
      },
      breakable(text),
    );
  }

  function datasetPanel(node) {
    const data = node.data || {};
    const pii = piiOf(node);
    const quality = extra(data).quality;
    const run = runOf(node);
    const parts = panelHead("Dataset", nameOf(node), namespaceOf(node));
    if (pii.clear.length) parts.push(h("p", {}, badge(`PII in ${plural(pii.clear.length, "column")}`, "bad")));
    else if (pii.masked.length) parts.push(h("p", {}, badge("PII anonymised", "warn")));
    parts.push(
      kv([
        ["Owners", ownersText(node)],
        ["Quality", quality ? qualityText(quality) : h("span", { class: "si-muted", text: "no checks recorded" })],
        [
          "Last written",
          run
            ? [
                runText(run),
                run.job ? h("div", { class: "si-muted si-break" }, "by ", nodeLink(run.job, jobName(run.job))) : "",
              ]
            : null,
        ],
        ["Sensitivity", extra(data).sensitivity || null],
        [
          "Modified",
          data.lastModifiedAt ? `${formatTime(data.lastModifiedAt)} (${timeAgo(data.lastModifiedAt)})` : null,
        ],
        ["Description", data.description || null],
        [
          "SQL not parsed",
          extra(data).sqlUnparsed
            ? `${plural(extra(data).sqlUnparsed, "run")}: no column lineage from their SQL (it could not be parsed)`
            : null,
        ],
      ]),
      h(
        "p",
        { class: "si-lineage__actions" },
        button("Open here", () => open(node.id), "Start the graph from this dataset"),
        button(
          "Columns",
          () => {
            select(node.id);
            toggleColumns();
          },
          "Column lineage of this dataset",
        ),
      ),
      costSection(node),
      schemaTable(node),
    );
    if (pii.clear.length || pii.masked.length) parts.push(piiSection(node));
    return parts;
  }

  function money(amount, currency) {
    const value = Number(amount).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return `${value} ${currency || ""}`.trim();
  }

  /** The dataset's attributed cost from the cost rollup (read-only); "no cost attributed yet", never 0. */
  function costSection(node) {
    const output = h("div", { "aria-live": "polite" }, h("p", { class: "si-muted", text: "Loading cost …" }));
    const section = h(
      "section",
      { class: "si-lineage__cost", "data-cost-for": node.id },
      h("h3", { text: "Attributed cost" }),
      output,
    );
    getJson(urls.cost, { nodeId: node.id })
      .then((body) => {
        if (body.notice) {
          output.replaceChildren(h("p", { class: "si-muted", "data-cost": "none", text: `${body.notice}.` }));
          return;
        }
        const rows = (body.periods || []).map((period) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", text: period.label }),
            h(
              "td",
              {},
              period.amount === null || period.amount === undefined
                ? h("span", { class: "si-muted", text: "no cost attributed yet" })
                : h("span", {
                    "data-cost": period.label,
                    title: Object.entries(period.by_kind || {})
                      .map(([kind, amount]) => `${kind} ${money(amount, body.currency)}`)
                      .join(", "),
                    text: money(period.amount, body.currency),
                  }),
            ),
          ),
        );
        output.replaceChildren(
          h("table", { class: "si-table si-lineage__cost-table" }, h("tbody", {}, rows)),
          h(
            "p",
            { class: "si-muted" },
            `Up to ${body.as_of} (UTC), from the daily cost rollup`,
            body.demo ? [" ", badge("demo data", "warn")] : "",
            ". ",
            urls.costPage ? h("a", { href: urls.costPage, text: "Cost & ROI" }) : "",
          ),
        );
      })
      .catch((err) => {
        output.replaceChildren(
          h("p", { class: "si-alert si-alert--bad", text: `Could not load the cost: ${err.message}` }),
        );
      });
    return section;
  }

  /** A job's name when it is drawn; the node id otherwise (ids are not split: namespaces hold colons). */
  function jobName(nodeId) {
    const job = state.nodes.get(nodeId);
    return job ? nameOf(job) : nodeId;
  }

  function classBadges(entries) {
    if (!entries.length) return h("span", { class: "si-muted", text: "—" });
    return h(
      "span",
      { class: "si-lineage__classes" },
      entries.map((entry) =>
        badge(classLabel(entry), entry.status === "anonymised" ? "warn" : "bad", classTitle(entry)),
      ),
    );
  }

  function schemaTable(node) {
    const fields = node.data.fields || [];
    const section = h("section", {}, h("h3", { text: `Schema · ${plural(fields.length, "column")}` }));
    if (!fields.length) {
      section.append(h("p", { class: "si-muted", text: "No schema recorded: the events carry no schema facet." }));
      return section;
    }
    const rows = fields.map((field) =>
      h(
        "tr",
        {},
        h(
          "td",
          { class: "si-break" },
          h("code", { text: field.name }),
          field.description ? h("div", { class: "si-muted", text: field.description }) : "",
        ),
        h("td", { class: "si-muted", text: String(field.type || "").toLowerCase() }),
        h("td", {}, classBadges(classesOf(node, field.name))),
      ),
    );
    section.append(
      h(
        "div",
        { class: "si-table-wrap" },
        h(
          "table",
          { class: "si-table si-lineage__fields" },
          h(
            "thead",
            {},
            h("tr", {}, h("th", { text: "Column" }), h("th", { text: "Type" }), h("th", { text: "Classification" })),
          ),
          h("tbody", {}, rows),
        ),
      ),
    );
    return section;
  }

  function piiSection(node) {
    const output = h("div", { "aria-live": "polite" });
    const trace = button("Trace personal data", async () => {
      trace.setAttribute("aria-disabled", "true");
      output.replaceChildren(h("p", { class: "si-muted", text: "Tracing …" }));
      try {
        output.replaceChildren(...piiResult(await getJson(urls.pii, { nodeId: node.id })));
      } catch (err) {
        output.replaceChildren(h("p", { class: "si-alert si-alert--bad", text: `Could not trace: ${err.message}` }));
      } finally {
        trace.setAttribute("aria-disabled", "false");
      }
    });
    return h(
      "section",
      { class: "si-lineage__pii" },
      h("h3", { text: "Where is this personal data?" }),
      h("p", {
        class: "si-muted",
        text:
          "Follows column lineage from the classified columns, upstream to their sources " +
          "and downstream until a transform anonymises them.",
      }),
      h("p", {}, trace),
      output,
    );
  }

  /** The answer of /api/lineage/pii: sources, datasets holding the data, datasets receiving it anonymised. */
  function piiResult(body) {
    if (body.notice) return [h("p", { class: "si-muted", text: body.notice })];
    const parts = [];
    const origins = new Map();
    for (const origin of body.origins || []) {
      const entry = origins.get(origin.dataset) || { name: origin.name, fields: [] };
      entry.fields.push(origin.field);
      origins.set(origin.dataset, entry);
    }
    if (origins.size) {
      parts.push(
        h("h4", { text: "Comes from" }),
        h(
          "ul",
          { class: "si-lineage__pii-list" },
          [...origins].map(([nodeId, origin]) =>
            h(
              "li",
              {},
              nodeLink(nodeId, origin.name),
              " ",
              h("span", { class: "si-muted", text: origin.fields.join(", ") }),
            ),
          ),
        ),
      );
    }
    const datasets = body.datasets || [];
    const holding = datasets.filter((d) => d.holds && d.holds.length);
    const anonymised = datasets.filter((d) => (!d.holds || !d.holds.length) && d.anonymised && d.anonymised.length);
    parts.push(
      h("h4", { text: `Held in ${plural(holding.length, "dataset")}` }),
      holding.length
        ? h(
            "ul",
            { class: "si-lineage__pii-list" },
            holding.map((d) => h("li", {}, nodeLink(d.nodeId, d.name), " ", badge(d.holds.join(", "), "bad"))),
          )
        : h("p", { class: "si-muted", text: "Nowhere else." }),
    );
    if (anonymised.length) {
      parts.push(
        h("h4", { text: `Anonymised in ${plural(anonymised.length, "dataset")}` }),
        h(
          "ul",
          { class: "si-lineage__pii-list" },
          anonymised.map((d) => h("li", {}, nodeLink(d.nodeId, d.name), " ", badge(d.anonymised.join(", "), "warn"))),
        ),
      );
    }
    if (body.rule)
      parts.push(
        h(
          "details",
          { class: "si-disclosure" },
          h("summary", { text: "How this is decided" }),
          h("p", { class: "si-muted", text: body.rule }),
        ),
      );
    return parts;
  }

  function jobPanel(node) {
    const data = node.data || {};
    const run = runOf(node);
    return [
      ...panelHead("Job", nameOf(node), namespaceOf(node)),
      kv([
        ["Last run", run ? runText(run) : h("span", { class: "si-muted", text: "no run recorded" })],
        ["Started", run && run.startedAt ? formatTime(run.startedAt) : null],
        ["Ended", run && run.endedAt ? formatTime(run.endedAt) : null],
        ["Reads", plural((data.inputs || []).length, "dataset")],
        ["Writes", plural((data.outputs || []).length, "dataset")],
        ["Owners", ownersText(node)],
        ["Type", data.type || null],
        ["Source", data.location ? h("code", { class: "si-break", text: data.location }) : null],
        ["Description", data.description || null],
      ]),
      h(
        "p",
        { class: "si-lineage__actions" },
        button("Open here", () => open(node.id), "Start the graph from this job"),
      ),
    ];
  }

  function transformation(input) {
    return [input.transformationType, input.transformationDescription].filter(Boolean).join(": ");
  }

  function fieldPanel(node) {
    const data = node.data || {};
    const inputs = data.inputFields || [];
    const from = inputs.length
      ? h(
          "ul",
          { class: "si-lineage__pii-list" },
          inputs.map((input) =>
            h(
              "li",
              {},
              h("code", {}, breakable(`${input.dataset}.${input.field}`)),
              input.transformationType || input.transformationDescription
                ? h("span", {
                    class: "si-muted",
                    text: ` · ${transformation(input)}`,
                  })
                : "",
            ),
          ),
        )
      : h("span", { class: "si-muted", text: "no recorded input (a source column, or outside the loaded depth)" });
    const parts = [
      ...panelHead("Column", nameOf(node), data.dataset || ""),
      kv([
        ["Type", String(data.fieldType || "").toLowerCase() || null],
        ["Classification", classBadges(classesOf(node, null))],
        ["Comes from", from],
      ]),
    ];
    if (classesOf(node, null).length) parts.push(piiSection(node));
    return parts;
  }

  /** "What breaks if this changes?": the impact answer's counts and owners, on demand. */
  function impactSection(node) {
    const output = h("div", { "aria-live": "polite" });
    const run = button("Show impact", async () => {
      run.setAttribute("aria-disabled", "true");
      output.replaceChildren(h("p", { class: "si-muted", text: "Walking downstream …" }));
      try {
        const body = await getJson(urls.impact, { nodeId: node.id, format: "json" });
        const items = body.items || [];
        const count = (type) => items.filter((item) => item.type === type).length;
        const owners = body.owners || [];
        output.replaceChildren(
          h(
            "p",
            {},
            `${plural(count(DATASET), "dataset")}, ${plural(count(JOB), "job")}`,
            count(FIELD) ? ` and ${plural(count(FIELD), "column")}` : "",
            " downstream",
            items.some((item) => item.pii) ? [" (", badge("PII", "bad"), " in some)"] : "",
            ".",
          ),
          owners.length
            ? h(
                "p",
                {},
                "Owners to tell: ",
                owners.map((owner, i) => [
                  i ? ", " : "",
                  h("strong", { text: owner.name || owner.team, title: owner.slackChannel || null }),
                ]),
              )
            : h("p", { class: "si-muted", text: "No owners recorded downstream." }),
        );
      } catch (err) {
        output.replaceChildren(
          h("p", { class: "si-alert si-alert--bad", text: `Could not compute the impact: ${err.message}` }),
        );
      } finally {
        run.setAttribute("aria-disabled", "false");
      }
    });
    return h(
      "section",
      { class: "si-lineage__impact" },
      h("h3", { text: "What breaks if this changes?" }),
      h(
        "p",
        { class: "si-lineage__actions" },
        run,
        h("a", {
          class: "si-button si-button--small",
          href: withQuery(urls.impact, { nodeId: node.id, format: "csv" }),
          download: "",
          text: "CSV",
        }),
        h("a", {
          class: "si-button si-button--small",
          href: withQuery(urls.impact, { nodeId: node.id, format: "json" }),
          download: "",
          text: "JSON",
        }),
      ),
      output,
    );
  }

  // -- search ---------------------------------------------------------------------------------

  let searchTimer = null;
  let searchAbort = null;
  let activeResult = -1;

  /** Search answers as [{type, nodeId, namespace, name}] (Marquez's SearchResultList). */
  function searchRows(body) {
    const rows = Array.isArray(body) ? body : (body && body.results) || [];
    return rows.slice(0, SEARCH_LIMIT).map((row) => ({
      type: String(row.type || "").toUpperCase() === JOB ? JOB : DATASET,
      namespace: row.namespace || "",
      name: row.name || "",
      nodeId: row.nodeId,
    }));
  }

  function closeResults() {
    el.results.hidden = true;
    el.results.replaceChildren();
    el.query.setAttribute("aria-expanded", "false");
    el.query.removeAttribute("aria-activedescendant");
    activeResult = -1;
  }

  function showResults(rows, query) {
    el.results.replaceChildren();
    activeResult = -1;
    if (!rows.length) {
      el.results.append(
        h("li", {
          class: "si-lineage__result si-muted",
          role: "option",
          "aria-disabled": "true",
          text: `Nothing matches “${query}”.`,
        }),
      );
    }
    rows.forEach((row, index) => {
      el.results.append(
        h(
          "li",
          {
            id: `si-lineage-result-${index}`,
            class: "si-lineage__result",
            role: "option",
            "aria-selected": "false",
            "data-node-id": row.nodeId,
            onmousedown: (event) => {
              event.preventDefault();
              choose(row.nodeId);
            },
          },
          badge(row.type === JOB ? "job" : "dataset"),
          h("span", { class: "si-break", text: row.name }),
          h("span", { class: "si-muted si-break", text: row.namespace }),
        ),
      );
    });
    el.results.hidden = false;
    el.query.setAttribute("aria-expanded", "true");
  }

  function moveActive(step) {
    const options = [...el.results.querySelectorAll("[data-node-id]")];
    if (!options.length) return;
    activeResult = (activeResult + step + options.length) % options.length;
    options.forEach((option, index) => option.setAttribute("aria-selected", String(index === activeResult)));
    el.query.setAttribute("aria-activedescendant", options[activeResult].id);
    options[activeResult].scrollIntoView({ block: "nearest" });
  }

  function choose(nodeId) {
    closeResults();
    open(nodeId);
  }

  async function search(query) {
    if (searchAbort) searchAbort.abort();
    const text = query.trim();
    if (!text) {
      closeResults();
      return;
    }
    searchAbort = new AbortController();
    try {
      const body = await getJson(urls.search, { q: text, limit: SEARCH_LIMIT }, searchAbort.signal);
      showResults(searchRows(body), text);
    } catch (err) {
      if (err.name === "AbortError") return;
      closeResults();
      setStatus(`Search failed: ${err.message}`, "bad");
    }
  }

  function wireSearch() {
    el.query.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => search(el.query.value), SEARCH_DELAY_MS);
    });
    el.query.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (el.results.hidden) search(el.query.value);
        else moveActive(1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        moveActive(-1);
      } else if (event.key === "Escape") {
        closeResults();
      }
    });
    el.query.addEventListener("blur", () => setTimeout(closeResults, 150));
    el.query.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const options = [...el.results.querySelectorAll("[data-node-id]")];
      const option = options[activeResult] || (options.length === 1 ? options[0] : null);
      if (option) choose(option.dataset.nodeId);
      else search(el.query.value);
    });
  }

  // -- start ----------------------------------------------------------------------------------

  function wireToolbar() {
    const guarded = (control, action) =>
      control.addEventListener("click", (event) => {
        if (control.getAttribute("aria-disabled") === "true") {
          event.preventDefault();
          return;
        }
        action();
      });
    guarded(el.upstream, () => expand(state.selected, "up"));
    guarded(el.downstream, () => expand(state.selected, "down"));
    guarded(el.columns, () => toggleColumns());
    guarded(el.exportCsv, () => {});
    guarded(el.exportJson, () => {});
    el.fit.addEventListener("click", () => cy && cy.fit(undefined, 24));
    el.depth.addEventListener("change", () => {
      const current = new URL(window.location.href).searchParams.get("nodeId") || state.selected;
      if (current) open(current);
    });
  }

  function start() {
    wireSearch();
    if (!registerLayout()) {
      setStatus("The graph library did not load; reload the page.", "bad");
      return;
    }
    createGraph();
    wireToolbar();
    select(null);
    const params = new URL(window.location.href).searchParams;
    const wanted = params.get("depth");
    if (wanted && [...el.depth.options].some((option) => option.value === wanted)) el.depth.value = wanted;
    const nodeId = params.get("nodeId") || root.dataset.nodeId;
    const query = params.get("q");
    if (nodeId) open(nodeId);
    else if (root.dataset.defaultNodeId) open(root.dataset.defaultNodeId, { remember: false });
    else setStatus("Search for a dataset or job to draw its lineage.");
    if (query && !nodeId) {
      el.query.value = query;
      search(query);
      el.query.focus();
    }
  }

  start();
})();
