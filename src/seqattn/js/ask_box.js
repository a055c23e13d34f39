/* Chapter 8's box in the static book: the reader types a date, the model answers in the page.
 *
 * seqattn.webmodel.AskBox writes the box's <div class="seqattn-ask"> with its settings (the
 * models, the one to load first, the first question) and loads attention_seq2seq.js (the
 * engine, `seqattn`) and then this script. This script builds the form, loads the model files
 * from its own folder (each file is a script that puts its model in SEQATTN_MODELS), and draws
 * what `translate` returns: the answer, the map as show_heatmap draws it (question along x,
 * answer along y, padding as ·) and each written character's probability. A question the model
 * cannot read gets Python's message. Nothing leaves the page.
 *
 * When the box is ready, its div carries data-ready="true" and data-ready-ms, the milliseconds
 * from the start of the page's navigation (performance.now()) to the first answer drawn.
 */
(function () {
  "use strict";
  const script = document.currentScript;
  const folder = script ? script.src.replace(/[^/]*$/, "") : "";
  const SVG = "http://www.w3.org/2000/svg";
  const loading = {}; // model name -> Promise of the loaded model

  /* matplotlib's "Greys" colour map, which show_heatmap uses: its nine colours at 0, 1/8, ...,
   * 1, with straight lines between them (white for weight 0, black for weight 1). */
  const GREYS = [255, 240, 217, 189, 150, 115, 82, 37, 0];

  function grey(weight) {
    const x = Math.min(Math.max(weight, 0), 1) * 8;
    const k = Math.min(Math.floor(x), 7);
    const v = Math.round(GREYS[k] + (GREYS[k + 1] - GREYS[k]) * (x - k));
    return `rgb(${v}, ${v}, ${v})`;
  }

  function element(tag, attributes = {}, text) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function svgElement(tag, attributes = {}, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  /* The model file's script, once; resolves to the engine's model. */
  function load(entry) {
    if (!loading[entry.name]) {
      loading[entry.name] = new Promise((resolve, reject) => {
        const models = window.SEQATTN_MODELS || {};
        if (models[entry.name]) return resolve(models[entry.name]);
        const tag = element("script", { src: folder + entry.file });
        tag.onload = () => (window.SEQATTN_MODELS || {})[entry.name]
          ? resolve(window.SEQATTN_MODELS[entry.name])
          : reject(new Error(`${entry.file} did not define the model ${entry.name}`));
        tag.onerror = () => reject(new Error(`${folder + entry.file} could not be loaded`));
        document.head.appendChild(tag);
      }).then((file) => {
        performance.mark(`seqattn: ${entry.name} loaded`);
        return seqattn.loadModel(file);
      }).then((model) => {
        performance.mark(`seqattn: ${entry.name} decoded`);
        return model;
      });
      loading[entry.name].catch(() => delete loading[entry.name]); // a later click tries again
    }
    return loading[entry.name];
  }

  /* The map as show_heatmap draws it: one square per (answer, question) character, dark for a
   * large weight, the question's characters (padding as ·) below, the answer's on the left,
   * the title "question -> answer" above and a colour bar on the right. Each square holds its
   * weight in data-weight and, on hover, in a tooltip. */
  function drawMap(result) {
    const question = Array.from(result.question);
    const T = result.attention[0].length, A = result.attention.length;
    const columns = question.concat(Array(T - question.length).fill(" "));
    const S = 16, left = 50, top = 28, bottom = 52, right = 60;
    const width = left + T * S + right, height = top + A * S + bottom;
    const svg = svgElement("svg", { class: "seqattn-ask-map", viewBox: `0 0 ${width} ${height}`,
                                    role: "img",
                                    "aria-label": `attention map of ${result.question}` });
    svg.appendChild(svgElement("text", { x: left + (T * S) / 2, y: 13, class: "title" },
                               `${result.question} -> ${result.answer}`));
    const answer = Array.from(result.answer);
    result.attention.forEach((row, k) => {
      row.forEach((w, j) => {
        const cell = svgElement("rect", { x: left + j * S, y: top + k * S, width: S, height: S,
                                          fill: grey(w), "data-row": k, "data-column": j,
                                          "data-weight": String(w) });
        const shown = columns[j] === " " ? "·" : columns[j];
        cell.appendChild(svgElement("title", {},
          `writing ${answer[k]} (${k}), at ${shown} (${j}): ${w.toFixed(3)}`));
        svg.appendChild(cell);
      });
      svg.appendChild(svgElement("text", { x: left - 6, y: top + k * S + S / 2, class: "row" },
                                 answer[k]));
    });
    columns.forEach((ch, j) => {
      svg.appendChild(svgElement("text", { x: left + j * S + S / 2, y: top + A * S + 13,
                                           class: "column" }, ch === " " ? "·" : ch));
    });
    svg.appendChild(svgElement("text", { x: left + (T * S) / 2, y: top + A * S + 38,
                                         class: "label" }, "question (input)"));
    svg.appendChild(svgElement("text", { x: 13, y: top + (A * S) / 2, class: "label",
                                         transform: `rotate(-90 13 ${top + (A * S) / 2})` },
                               "answer (output)"));
    // the colour bar: 0 (white) at the bottom to 1 (black) at the top
    const barX = left + T * S + 10, steps = 40;
    for (let s = 0; s < steps; s++) {
      svg.appendChild(svgElement("rect", { x: barX, y: top + (A * S * s) / steps, width: 10,
                                           height: (A * S) / steps + 0.5,
                                           fill: grey(1 - (s + 0.5) / steps) }));
    }
    svg.appendChild(svgElement("rect", { x: barX, y: top, width: 10, height: A * S,
                                         fill: "none", stroke: "#444", "stroke-width": 0.6 }));
    [0, 0.5, 1].forEach((v) => {
      svg.appendChild(svgElement("text", { x: barX + 14, y: top + A * S * (1 - v), class: "bar" },
                                 v.toFixed(1)));
    });
    return svg;
  }

  function setUp(box) {
    const models = JSON.parse(box.dataset.models);
    const byName = Object.fromEntries(models.map((m) => [m.name, m]));
    let current = byName[box.dataset.default];
    box.textContent = "";
    const form = element("form", { class: "seqattn-ask-form" });
    const input = element("input", { type: "text", value: box.dataset.question,
                                     "aria-label": "your date", autocomplete: "off",
                                     spellcheck: "false", placeholder: "e.g. 7/4/76" });
    const label = element("label", {}, "your date ");
    label.appendChild(input);
    form.append(label, element("button", { type: "submit" }, "Answer"));
    const epochs = element("div", { class: "seqattn-ask-epochs", role: "group",
                                    "aria-label": "the model after" });
    epochs.appendChild(element("span", {}, "the model after "));
    for (const m of models) {
      const button = element("button", { type: "button", "data-model": m.name,
                                         "aria-pressed": String(m === current) }, m.label);
      button.addEventListener("click", () => { current = m; answer(); });
      epochs.appendChild(button);
    }
    const status = element("p", { class: "seqattn-ask-status", "aria-live": "polite" });
    const output = element("div", { class: "seqattn-ask-output" });
    box.append(form, epochs, status, output);

    let asked = 0; // only the latest question's answer is drawn
    /* Answers the question in the box with the model picked; resolves to true once the
     * answer (or the message for a question the model cannot read) is shown. */
    async function answer() {
      const ask = ++asked, entry = current, question = input.value;
      for (const b of epochs.querySelectorAll("button")) {
        b.setAttribute("aria-pressed", String(b.dataset.model === entry.name));
      }
      status.textContent = loading[entry.name] ? "" : `loading the model after ${entry.label}…`;
      let model;
      try {
        model = await load(entry);
      } catch (error) {
        if (ask === asked) status.textContent = `The model could not be loaded: ${error.message}`;
        return false;
      }
      if (ask !== asked) return false;
      status.textContent = "";
      output.textContent = "";
      box.dataset.model = entry.name;
      box.dataset.question = question;
      let result;
      try {
        result = seqattn.translate(model, question);
      } catch (error) {
        if (!(error instanceof seqattn.QuestionError)) throw error;
        box.dataset.answer = "";
        output.appendChild(element("p", { class: "seqattn-ask-error" },
          `The model cannot read ${seqattn.pyRepr(question)}: ${error.message}`));
        return true;
      }
      box.dataset.answer = result.answer;
      const said = element("p", { class: "seqattn-ask-answer" }, "the model answers ");
      said.append(element("code", {}, result.answer), ` (after ${entry.label})`);
      output.append(said, drawMap(result));
      // each written character over its probability, as the Python box prints them
      const sure = element("div", { class: "seqattn-ask-probabilities",
                                    "aria-label": "how sure, character by character" });
      sure.appendChild(element("span", {}, "how sure, character by character:"));
      Array.from(result.answer).forEach((ch, k) => {
        const pair = element("span", { class: "pair" });
        pair.append(element("code", {}, ch),
                    element("span", {}, result.probabilities[k].toFixed(2)));
        sure.appendChild(pair);
      });
      output.appendChild(sure);
      return true;
    }

    form.addEventListener("submit", (event) => { event.preventDefault(); answer(); });
    answer().then((shown) => {
      if (!shown) return; // the model did not load: the status says why
      box.dataset.readyMs = String(Math.round(performance.now()));
      box.dataset.ready = "true";
    });
  }

  for (const box of document.querySelectorAll(".seqattn-ask:not([data-wired])")) {
    if (typeof seqattn === "undefined") return; // the engine did not load: the note stays
    box.dataset.wired = "true";
    setUp(box);
  }
})();
