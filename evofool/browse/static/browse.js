// The browser's pages: fetch JSON from /api and draw it; poll while a run is live.
// DOM is built with textContent only: class names come from model files, not from us.
"use strict";
const evofool = (() => {
  const PAGE_SIZE = 100;      // cards per page: 1000 ImageNet classes stay fast
  const LIVE_POLL_MS = 2000;  // while a run writes
  const IDLE_POLL_MS = 10000; // a finished run may be resumed
  // What "fooled" means and how the API spells its keys: the server's, from evofool.archive.confidence.
  const pageData = document.body.dataset;
  const FOOLED = { threshold: Number(pageData.fooledThreshold), key: pageData.fooledKey,
                   shareKey: pageData.fooledShareKey, allKey: pageData.fooledAllKey };

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }
  const fmt = (value, digits = 4) => (value === null || value === undefined) ? "—" : Number(value).toFixed(digits);
  // A confidence with enough digits to show its nines: 0.99995 is not "1.0000".
  // Digits grow with -log10(1 - p) (at least 4, at most 9); float32's exact 1 says so.
  function conf(value) {
    if (value === null || value === undefined) return "—";
    const p = Number(value);
    if (p >= 1) return "1 (saturated)";
    const digits = Math.min(9, Math.max(4, Math.ceil(-Math.log10(1 - p)) + 1));
    return p.toFixed(digits);
  }
  const duration = (seconds) => (seconds === null || seconds === undefined) ? "—"
    : seconds < 90 ? `${Math.round(seconds)} s` : seconds < 5400 ? `${Math.round(seconds / 60)} min`
    : `${(seconds / 3600).toFixed(1)} h`;
  const started = (epoch) => epoch ? new Date(epoch * 1000).toISOString().slice(0, 16).replace("T", " ") : "—";

  async function getJson(url) {
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  function poll(load) {
    const tick = async () => {
      let live = false;
      try { live = await load(); } catch (error) { console.error(error); }
      setTimeout(tick, live ? LIVE_POLL_MS : IDLE_POLL_MS);
    };
    tick();
  }

  function runsPage() {
    const body = document.querySelector("#runs tbody");
    poll(async () => {
      const runs = await getJson("/api/runs");
      body.replaceChildren(...runs.map((run) => {
        const link = el("a", { href: `/runs/${encodeURIComponent(run.slug)}`, text: run.slug });
        if (run.error) {
          return el("tr", { class: "broken" }, el("td", {}, link),
                    el("td", { colspan: "9", class: "error", text: run.error }));
        }
        const classes = run[FOOLED.key] === null || run[FOOLED.key] === undefined ? "—"
          : `${run[FOOLED.key]} / ${run.classes}`;
        return el("tr", { "data-slug": run.slug }, el("td", {}, link),
          el("td", { text: run.model || "—" }), el("td", { text: run.encoding || "—" }),
          el("td", { class: `status-${run.status}`, text: run.status }),
          el("td", { text: run.kind === "retrain" ? `rounds ${run.rounds_done} / ${run.rounds + 1}`
                                                  : (run.generations ?? "—") }),
          el("td", { text: conf(run.median_confidence) }), el("td", { text: classes }),
          el("td", { text: started(run.started) }),
          el("td", { text: run.evaluations === null || run.evaluations === undefined ? "—"
                                                          : run.evaluations.toLocaleString("en-US") }),
          el("td", { text: duration(run.wall_seconds) }));
      }));
      if (!runs.length) body.replaceChildren(el("tr", {}, el("td", { colspan: "10", class: "muted", text: "no runs found" })));
      return runs.some((run) => run.status === "running");
    });
  }

  function runPage(slug) {
    const state = { champions: [], page: 0 };
    const gallery = document.getElementById("gallery");
    const filter = document.getElementById("filter");
    const sort = document.getElementById("sort");
    const plot = document.getElementById("confidence-plot");
    filter.addEventListener("input", () => { state.page = 0; draw(); });
    sort.addEventListener("change", () => { state.page = 0; draw(); });

    function visible() {
      const needle = filter.value.trim().toLowerCase();
      const shown = state.champions.filter((c) => !needle || c.name.toLowerCase().includes(needle)
                                                   || String(c.class) === needle);
      const order = { "class": (a, b) => a.class - b.class,
                      "confidence": (a, b) => b.confidence - a.confidence || a.class - b.class,
                      "confidence-asc": (a, b) => a.confidence - b.confidence || a.class - b.class };
      return shown.sort(order[sort.value]);
    }

    function draw() {
      const shown = visible();
      const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
      state.page = Math.min(state.page, pages - 1);
      const slice = shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
      gallery.replaceChildren(...slice.map((c) => el("a", {
          class: "card", href: `/runs/${encodeURIComponent(slug)}/classes/${c.class}`,
          "data-class": c.class },
        el("img", { class: "pixelated", src: c.image, alt: c.name, loading: "lazy" }),
        el("div", { class: "name", text: c.name, title: `${c.class}: ${c.name}` }),
        el("div", { class: c.confidence >= FOOLED.threshold ? "conf fooled" : "conf", text: conf(c.confidence) }),
        el("div", { class: "muted", text: `generation ${c.generation}` }),
        ...("passes_detector" in c ? [el("div", {
          class: c.passes_detector ? "detector passes" : "detector flagged",
          title: `${c.detector} outlier score ${c.detector_score.toPrecision(4)}`,
          text: `${c.passes_detector ? "passes" : "flagged by"} ${c.detector}` })] : []))));
      document.getElementById("count").textContent =
        `${shown.length} of ${state.champions.length} classes`;
      const nav = document.getElementById("pages");
      nav.replaceChildren(...(pages > 1 ? Array.from({ length: pages }, (_, i) => {
        const button = el("button", { text: String(i + 1) });
        if (i === state.page) button.disabled = true;
        button.addEventListener("click", () => { state.page = i; draw(); });
        return button;
      }) : []));
    }

    function drawTransfer(matrix) {
      const section = document.getElementById("transfer");
      if (!matrix) { section.replaceChildren(); return; }
      const rows = matrix.models.map((model, i) => el("tr", {}, el("td", { text: model }),
        el("td", { text: `${Math.round(100 * matrix.top1_agreement[i])}%` }),
        el("td", { text: fmt(matrix.confidence[i].reduce((a, b) => a + b, 0) / matrix.confidence[i].length) })));
      section.replaceChildren(el("h2", { text: "Transfer to other models" }),
        el("img", { src: matrix.heatmap, alt: "transfer matrix" }),
        el("table", { class: "table" }, el("thead", {}, el("tr", {}, el("th", { text: "model" }),
          el("th", { text: "top-1 agreement" }), el("th", { text: "mean confidence" }))),
          el("tbody", {}, ...rows)));
    }

    function drawOod(report) {
      const section = document.getElementById("ood");
      if (!report) { section.replaceChildren(); return; }
      const sets = Object.keys(report.sets);
      const value = (detector, set, key) => {
        const row = report.rows.find((r) => r.detector === detector && r.ood_set === set);
        return row ? row[key].toFixed(3) : "—";
      };
      const detectors = [...new Set(report.rows.map((r) => r.detector))];
      section.replaceChildren(el("h2", { text: "OOD detectors on these images" }),
        el("p", { class: "muted", text: `AUROC / FPR at 95% TPR against ${report.in_distribution.set} ` +
          `(${report.in_distribution.images} images) on ${report.model}` +
          (report.fit_on ? `; feature detectors fit on ${report.fit_on.images} of ${report.fit_on.set}` : "") }),
        el("img", { src: report.heatmap, alt: "OOD detection AUROC" }),
        el("table", { class: "table" }, el("thead", {}, el("tr", {}, el("th", { text: "detector" }),
          ...sets.map((set) => el("th", { text: `${set.split("/").pop()} (${report.sets[set]})` })))),
          el("tbody", {}, ...detectors.map((detector) => el("tr", {}, el("td", { text: detector }),
            ...sets.map((set) => el("td", { text: `${value(detector, set, "AUROC")} / ` +
              value(detector, set, "FPR95TPR") })))))));
    }

    function drawDefend(report) {
      const section = document.getElementById("defend");
      if (!report) { section.replaceChildren(); return; }
      const sets = Object.keys(report.sets);
      const cell = (defense, set) => {
        const row = report.rows.find((r) => r.defense === defense && r.fooling_set === set);
        return row ? `${Math.round(100 * row[FOOLED.shareKey])}% / ${conf(row.median_confidence)}` : "—";
      };
      const accuracy = (defense) => {
        const row = report.rows.find((r) => r.defense === defense);
        return row && row.clean_accuracy !== null ? row.clean_accuracy.toFixed(4) : "—";
      };
      section.replaceChildren(el("h2", { text: "Input defences on these images" }),
        el("p", { class: "muted", text: `share still ≥ ${FOOLED.threshold} / median confidence in the fooled ` +
          `class, on ${report.model}` + (report.in_distribution ? `; clean accuracy on ` +
          `${report.in_distribution.images} images of ${report.in_distribution.set}` : "") }),
        el("img", { src: report.heatmap, alt: "fooling images under input defences" }),
        el("table", { class: "table" }, el("thead", {}, el("tr", {}, el("th", { text: "defence" }),
          ...sets.map((set) => el("th", { text: `${set.split("/").pop()} (${report.sets[set]})` })),
          el("th", { text: "clean accuracy" }))),
          el("tbody", {}, ...report.defenses.map((defense) => el("tr", {},
            el("td", { text: defense }), ...sets.map((set) => el("td", { text: cell(defense, set) })),
            el("td", { text: accuracy(defense) }))))),
        ...report.detection.map((row) => el("p", { class: "muted", text: `feature squeezing ` +
          `as a detector on ${row.fooling_set.split("/").pop()}: AUROC ${row.AUROC.toFixed(3)}, ` +
          `FPR at 95% TPR ${row.FPR95TPR.toFixed(3)}` })));
    }

    function passingText(run) {  // runs that evolved past a detector (evaluator.detector)
      const judged = run.champions.find((c) => "detector" in c);
      if (run.passing_detector === null || !judged) return "";
      return ` · ${run.passing_detector} ≥ ${FOOLED.threshold} and passing ${judged.detector}`;
    }

    let signature = "";
    poll(async () => {
      const run = await getJson(`/api/runs/${encodeURIComponent(slug)}`);
      document.getElementById("run-summary").textContent =
        `${run.model} · ${run.encoding} · ${run.algorithm} · ${run.status} · generation ` +
        `${run.generations ?? "—"} · median confidence ${conf(run.median_confidence)} · ` +
        `${run[FOOLED.key]} / ${run.classes} classes ≥ ${FOOLED.threshold}` + passingText(run);
      const next = JSON.stringify([run.champions, run.generations]);
      if (next !== signature) {  // redraw (and reload the plot) only when something changed
        signature = next;
        state.champions = run.champions;
        draw();
        plot.src = `/runs/${encodeURIComponent(slug)}/plots/confidence.png?g=${run.generations}`;
        drawTransfer(run.transfer);
        drawOod(run.ood);
        drawDefend(run.defend);
      }
      return run.status === "running";
    });
  }

  function championPage(slug, classIndex) {
    poll(async () => {
      let c;
      try {
        c = await getJson(`/api/runs/${encodeURIComponent(slug)}/classes/${classIndex}`);
      } catch (error) {  // e.g. no champion yet: say so, keep polling
        document.getElementById("champion-facts").textContent = error.message;
        return false;
      }
      document.getElementById("champion-title").textContent = `class ${c.class}: ${c.name}`;
      const image = document.getElementById("champion-image");
      if (image.getAttribute("src") !== c.image) image.src = c.image;
      document.getElementById("champion-facts").textContent =
        `confidence ${conf(c.confidence)} · found in generation ${c.generation} · ` +
        `genome ${c.genome_id} (parent ${c.parent_id})`;
      const png = document.getElementById("png-download");
      png.href = c.image; png.setAttribute("download", `${slug}-class-${c.class}.png`);
      document.getElementById("genome-download").href = c.genome_download;
      document.querySelector("#top-k tbody").replaceChildren(...c.top_k.map((t) => el("tr", {},
        el("td", { text: `${t.class}: ${t.name}` }), el("td", { text: conf(t.probability) }))));
      document.getElementById("history-plot").src = `${c.history_plot}?n=${c.history.length}`;
      document.getElementById("lineage").replaceChildren(...c.lineage.map((link) => el("figure", {},
        link.image ? el("img", { src: link.image, alt: `genome ${link.genome_id}` })
          : el("div", { class: "not-kept", text: "not kept", title: "the run keeps lineage only" }),
        el("figcaption", { text: `g${link.generation}` }))));
      return false;  // a champion page refreshes at the idle pace
    });
  }

  function retrainPage(slug) {
    const body = document.querySelector("#rounds tbody");
    poll(async () => {
      const data = await getJson(`/api/runs/${encodeURIComponent(slug)}`);
      document.getElementById("retrain-summary").textContent =
        `${data.model} · ${data.status} · ${data.rounds_done} of ${data.rounds + 1} rounds done`;
      body.replaceChildren(...data.rounds.map((r) => el("tr", {},
        el("td", {}, el("a", { href: `/runs/${encodeURIComponent(r.run)}`, text: String(r.round) })),
        el("td", { text: fmt(r.test_accuracy) }), el("td", { text: fmt(r.earlier_garbage_share, 3) }),
        el("td", { text: conf(r.median_confidence) }), el("td", { text: `${r[FOOLED.key]} / ${data.classes}` }),
        el("td", { text: r[FOOLED.allKey] ?? "—" }),
        el("td", { text: `${r.garbage_added} / ${r.garbage_total}` }),
        el("td", { text: fmt(r.evolve_seconds, 1) }), el("td", { text: fmt(r.train_seconds, 1) }))));
      document.getElementById("rounds-plot").src =
        `/runs/${encodeURIComponent(slug)}/plots/rounds.png?r=${data.rounds.length}`;
      return data.status === "running";
    });
  }

  return { runsPage, runPage, championPage, retrainPage };
})();

// Which page this is comes from the body's data attributes, not an inline script: the
// server's Content-Security-Policy runs no script but this file.
(() => {
  const page = document.body.dataset;
  if (page.page === "runs") evofool.runsPage();
  else if (page.page === "run") evofool.runPage(page.slug);
  else if (page.page === "champion") evofool.championPage(page.slug, Number(page.classIndex));
  else if (page.page === "retrain") evofool.retrainPage(page.slug);
})();
