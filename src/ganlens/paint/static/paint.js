"use strict";
// ganlens paint: the page's state, brush and calls to the API. No libraries, no network beyond
// this server.
(() => {
  const $ = (id) => document.getElementById(id);
  const MASK = 256; // mask resolution sent with each stroke (pooled to the layer grid by the server)
  const state = {
    info: null, layer: null, rankings: {}, concept: null, action: "draw", overlay: "off",
    images: [], current: 0, seedBase: 0, concepts: {},
  };
  const view = $("view"), overlay = $("overlay"), brush = $("brush"), editor = $("editor");
  const ctx = brush.getContext("2d");
  const mask = document.createElement("canvas");
  mask.width = mask.height = MASK;
  const mctx = mask.getContext("2d");

  function status(text) { $("status").textContent = text; }

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body),
    };
    const response = await fetch(path, options);
    const data = await response.json();
    if (!response.ok) {
      const detail = (data.detail || []).map((d) => `${(d.loc || []).join(".")}: ${d.msg}`);
      throw new Error(detail.join("; ") || response.statusText);
    }
    return data;
  }

  function image() { return state.images[state.current]; }
  function active(entry) { return entry.strokes.slice(0, entry.pointer); }

  function rankingName() {
    const metric = $("metric").value;
    const names = (state.rankings[state.layer] || []).map((r) => r.name);
    const wanted = `${state.concept}-${metric}`;
    return names.includes(wanted) ? wanted : `${state.concept}-iou`;
  }

  function setBusy(busy) {
    editor.dataset.busy = String(busy);
    $("spinner").hidden = !busy;
  }

  async function render(entry) {
    const ticket = (entry.ticket = (entry.ticket || 0) + 1);
    const strokes = active(entry);
    setBusy(true);
    try {
      const data = await api("api/generate", {seeds: [entry.seed], strokes});
      if (ticket !== entry.ticket) return;
      entry.url = data.images[0];
      entry.thumb.src = entry.url;
      entry.thumb.classList.toggle("edited", strokes.length > 0);
      if (entry === image()) show();
      status(strokes.length ? `${strokes.length} stroke(s) on seed ${entry.seed}` : `seed ${entry.seed}`);
    } catch (error) {
      status(`error: ${error.message}`);
    } finally {
      if (ticket === entry.ticket) setBusy(false);
    }
  }

  function show() {
    const entry = image();
    view.src = entry.url;
    editor.dataset.version = String(Number(editor.dataset.version) + 1);
    document.querySelectorAll("#grid img").forEach((t, i) => t.classList.toggle("selected", i === state.current));
    $("undo").disabled = entry.pointer === 0;
    $("redo").disabled = entry.pointer === entry.strokes.length;
    $("reset").disabled = entry.strokes.length === 0;
    refreshOverlay();
    updateDownload();
  }

  async function refreshOverlay() {
    const entry = image();
    overlay.hidden = state.overlay === "off";
    if (state.overlay === "off") { $("legend").innerHTML = ""; return; }
    const strokes = state.overlay === "after" ? active(entry) : [];
    try {
      const data = await api("api/segment", {seeds: [entry.seed], strokes});
      overlay.src = data.images[0];
      $("legend").innerHTML = "";
      for (const c of data.concepts) {
        const li = document.createElement("li");
        li.innerHTML = `<span class="swatch" style="background:${c.color}"></span>${c.name}`;
        $("legend").appendChild(li);
      }
    } catch (error) { status(`error: ${error.message}`); }
  }

  function updateDownload() {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 512;
    const c = canvas.getContext("2d");
    const done = () => {
      c.imageSmoothingQuality = "high";
      c.drawImage(view, 0, 0, 512, 512);
      $("download").href = canvas.toDataURL("image/png");
      $("download").download = `ganlens-seed${image().seed}.png`;
    };
    if (view.complete && view.naturalWidth) done(); else view.onload = done;
  }

  function loadSamples(base) {
    state.seedBase = base;
    const count = state.info.seeds.length;
    state.images = [];
    $("grid").innerHTML = "";
    for (let i = 0; i < count; i++) {
      const thumb = document.createElement("img");
      thumb.alt = `seed ${base + i}`;
      const entry = {seed: base + i, strokes: [], pointer: 0, url: null, thumb};
      thumb.addEventListener("click", () => { state.current = i; if (entry.url) show(); });
      state.images.push(entry);
      $("grid").appendChild(thumb);
    }
    state.current = 0;
    // The grid in batches of the server's per-request limit, then one request per edited image.
    setBusy(true);
    const batch = state.info.limits.images;
    const requests = [];
    for (let start = 0; start < count; start += batch) {
      const entries = state.images.slice(start, start + batch);
      requests.push(api("api/generate", {seeds: entries.map((e) => e.seed)}).then((data) => {
        data.images.forEach((url, i) => { entries[i].url = url; entries[i].thumb.src = url; });
      }));
    }
    Promise.all(requests).then(() => {
      show();
      status(`seeds ${base}..${base + count - 1}: pick a concept and paint`);
    }).catch((error) => status(`error: ${error.message}`)).finally(() => setBusy(false));
  }

  function buildPalette() {
    const rankings = state.rankings[state.layer] || [];
    const concepts = [...new Set(rankings.map((r) => r.concept))];
    $("metric-row").hidden = !rankings.some((r) => r.metric === "ace");
    if (!concepts.includes(state.concept)) {
      state.concept = concepts.includes("tree") ? "tree" : concepts[0] || null;
    }
    $("palette").innerHTML = "";
    for (const name of concepts) {
      const button = document.createElement("button");
      button.dataset.concept = name;
      button.setAttribute("role", "radio");
      const color = (state.concepts[name] || {}).color || "#888";
      button.innerHTML = `<span class="swatch" style="background:${color}"></span>${name}`;
      button.classList.toggle("active", name === state.concept);
      button.addEventListener("click", () => {
        state.concept = name;
        document.querySelectorAll("#palette button").forEach((b) => b.classList.toggle("active", b === button));
      });
      $("palette").appendChild(button);
    }
  }

  async function selectLayer(layer) {
    state.layer = layer;
    if (!state.rankings[layer]) {
      status(`ranking the units of ${layer}…`);
      state.rankings[layer] = await api(`api/layers/${encodeURIComponent(layer)}/rankings`);
    }
    const info = state.info.layers.find((l) => l.name === layer);
    $("top-n").max = info.num_units;
    buildPalette();
    status(`${layer}: ${info.num_units} units on a ${info.grid.join(" x ")} grid`);
  }

  // Brush: draw on the visible canvas and on the mask; send the stroke when the pointer lifts.
  let last = null;
  function point(event) {
    const box = brush.getBoundingClientRect();
    return [(event.clientX - box.left) * brush.width / box.width, (event.clientY - box.top) * brush.height / box.height];
  }
  function dab(from, to) {
    const size = Number($("size").value);
    const scale = MASK / brush.width;
    for (const [c, k] of [[ctx, 1], [mctx, scale]]) {
      c.lineCap = c.lineJoin = "round";
      c.lineWidth = size * k;
      c.beginPath();
      c.moveTo(from[0] * k, from[1] * k);
      c.lineTo(to[0] * k + 0.01, to[1] * k);
      c.stroke();
    }
  }
  brush.addEventListener("pointerdown", (event) => {
    if (!state.concept || !image() || !image().url) return;
    brush.setPointerCapture(event.pointerId);
    ctx.clearRect(0, 0, brush.width, brush.height);
    mctx.clearRect(0, 0, MASK, MASK);
    ctx.strokeStyle = state.action === "draw" ? "rgba(95,168,255,0.45)" : "rgba(255,107,107,0.45)";
    mctx.strokeStyle = "#fff";
    last = point(event);
    dab(last, last);
  });
  brush.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    dab(last, next);
    last = next;
  });
  function finish() {
    if (!last) return;
    last = null;
    const entry = image();
    const stroke = {
      layer: state.layer, ranking: rankingName(), top_n: Math.max(1, Number($("top-n").value) || 1),
      action: state.action, strength: Number($("strength").value) / 100, pool: $("pool").value,
      mask: {png: mask.toDataURL("image/png")},
    };
    entry.strokes = active(entry).concat([stroke]).slice(-state.info.limits.strokes);
    entry.pointer = entry.strokes.length;
    render(entry).then(() => ctx.clearRect(0, 0, brush.width, brush.height));
  }
  brush.addEventListener("pointerup", finish);
  brush.addEventListener("pointercancel", finish);

  function undo() { const e = image(); if (e.pointer > 0) { e.pointer--; render(e); } }
  function redo() { const e = image(); if (e.pointer < e.strokes.length) { e.pointer++; render(e); } }
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("reset").addEventListener("click", () => { const e = image(); e.strokes = []; e.pointer = 0; render(e); });
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z") return;
    event.preventDefault();
    if (event.shiftKey) redo(); else undo();
  });
  document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => {
    state.action = b.dataset.action;
    document.querySelectorAll("[data-action]").forEach((o) => o.classList.toggle("active", o === b));
  }));
  document.querySelectorAll("[data-overlay]").forEach((b) => b.addEventListener("click", () => {
    state.overlay = b.dataset.overlay;
    document.querySelectorAll("[data-overlay]").forEach((o) => o.classList.toggle("active", o === b));
    refreshOverlay();
  }));
  $("size").addEventListener("input", () => { $("size-out").textContent = $("size").value; });
  $("strength").addEventListener("input", () => {
    $("strength-out").textContent = (Number($("strength").value) / 100).toFixed(2);
  });
  $("layer").addEventListener("change", () => selectLayer($("layer").value).catch((e) => status(`error: ${e.message}`)));
  $("more").addEventListener("click", () => loadSamples(state.seedBase + state.info.seeds.length));

  async function start() {
    try {
      state.info = await api("api/info");
      for (const c of state.info.concepts) state.concepts[c.name] = c;
      $("model").textContent = `${state.info.source} · ${state.info.resolution || "?"} px · latent ${state.info.latent_size}`;
      for (const layer of state.info.layers) {
        const option = document.createElement("option");
        option.value = layer.name;
        option.textContent = `${layer.name} (${layer.num_units} units, ${layer.grid.join("x")})`;
        $("layer").appendChild(option);
      }
      $("layer").value = state.info.layer;
      $("top-n").value = state.info.top_n;
      await selectLayer(state.info.layer);
      loadSamples(state.info.seeds[0]);
    } catch (error) { status(`error: ${error.message}`); }
  }
  start();
})();
