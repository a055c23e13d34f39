/* The browser engine under Node.js answers a list of questions (seqattn.webmodel.answer_in_node
 * and tests/test_web.py run it).
 *
 *   node answer_node.js ENGINE MODEL_FILE OUT_PREFIX [--one-by-one] < questions.json
 *
 * questions.json is a JSON list of strings. By default each question is read with the engine's
 * encodeQuestion and the readable ones are decoded together, in batches, with generate (fast:
 * for thousands of questions). With --one-by-one each question goes through the engine's
 * translate, as the page asks it: one question at a time, its map turned by translate itself.
 * Either way a question the engine cannot read must throw QuestionError; its message is kept.
 * Writes OUT_PREFIX.json: {answers: [answer or null], errors: [message or null],
 * probabilities: [[A] or null], seconds (the time spent answering)}, and OUT_PREFIX.weights:
 * the attention maps of the readable questions, in their order, as float64 (n, A, T) in
 * reading order. Any other failure (a model file the engine refuses) exits with status 1 and
 * the error on stderr.
 */
"use strict";
const fs = require("fs");
const path = require("path");
const [enginePath, modelPath, outPrefix, mode] = process.argv.slice(2);
if (mode !== undefined && mode !== "--one-by-one") throw new Error(`unknown option ${mode}`);
const seqattn = require(path.resolve(enginePath));
const file = require(path.resolve(modelPath));

(async () => {
  const questions = JSON.parse(fs.readFileSync(0, "utf8"));
  const model = await seqattn.loadModel(file);
  const { questionWidth: T, answerWidth: A, reversed } = model.vocab;
  const answers = [], errors = [], probabilities = [], maps = [];
  const start = process.hrtime.bigint();
  if (mode === "--one-by-one") {
    for (const q of questions) {
      try {
        const out = seqattn.translate(model, q);
        answers.push(out.answer); errors.push(null); probabilities.push(out.probabilities);
        maps.push(out.attention.flatMap((row) => Array.from(row)));
      } catch (e) {
        if (!(e instanceof seqattn.QuestionError)) throw e;
        answers.push(null); errors.push(e.message); probabilities.push(null);
      }
    }
  } else {
    const readable = [], ids = [];
    for (const q of questions) {
      try {
        ids.push(...seqattn.encodeQuestion(model.vocab, q));
        readable.push(answers.length);
        answers.push(""); errors.push(null); probabilities.push(null);
      } catch (e) {
        if (!(e instanceof seqattn.QuestionError)) throw e;
        answers.push(null); errors.push(e.message); probabilities.push(null);
      }
    }
    const BATCH = 250;
    for (let s = 0; s < readable.length; s += BATCH) {
      const n = Math.min(BATCH, readable.length - s);
      const out = seqattn.generate(model, Int32Array.from(ids.slice(s * T, (s + n) * T)), n);
      for (let r = 0; r < n; r++) {
        const q = readable[s + r];
        answers[q] = Array.from(out.ids.subarray(r * A, (r + 1) * A),
                                (i) => model.vocab.chars[i]).join("");
        probabilities[q] = Array.from(out.probabilities.subarray(r * A, (r + 1) * A));
        const map = new Float64Array(A * T); // generate's maps are in the encoder's order
        for (let k = 0; k < A; k++) {
          for (let t = 0; t < T; t++) {
            map[k * T + t] = out.weights[(r * A + k) * T + (reversed ? T - 1 - t : t)];
          }
        }
        maps.push(map);
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const weights = new Float64Array(maps.length * A * T);
  maps.forEach((map, i) => weights.set(map, i * A * T));
  fs.writeFileSync(outPrefix + ".weights", Buffer.from(weights.buffer));
  fs.writeFileSync(outPrefix + ".json",
                   JSON.stringify({ answers, errors, probabilities, seconds }));
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
