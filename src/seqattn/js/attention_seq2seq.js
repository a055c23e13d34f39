/* The trained AttentionSeq2seq in plain JavaScript: only its forward pass, for the static book.
 *
 * Nothing here is learned or new. It is the NumPy package's forward pass, written again in the
 * same order and with the same names, so that the two can be read side by side:
 *
 *   encodeQuestion   Vocabulary.encode_question          seqattn/data.py
 *   timeEmbedding    TimeEmbedding.forward               seqattn/layers.py
 *   timeLSTM         TimeLSTM.forward (gates f, g, i, o) seqattn/layers.py
 *   attention        BatchedTimeAttention.forward        seqattn/attention.py
 *   generate         AttentionSeq2seq.generate, greedy   seqattn/attention_seq2seq.py
 *   translate        translate                           seqattn/translate.py
 *
 * Arrays are flat, row-major Float64Arrays; comments give their shapes in the book's letters:
 * N questions, T question width, A answer width, V vocabulary, D word vector, H hidden size.
 * The weights stay the float32 numbers NumPy holds; the arithmetic is in float64, so the
 * answers are NumPy's and the maps agree to about 1e-6 (tests/test_web.py measures it).
 *
 * No dependencies: in a browser a classic <script> defines `seqattn` (a module would not load
 * from file://); in Node, require() returns the same object.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.seqattn = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // --- the exported file -> a model --------------------------------------------------------

  /* A model file (made by seqattn.webmodel from the .npz checkpoint) holds one string: every
   * array's float32 bytes, little-endian, one after the other in the order of `arrays`, then
   * regrouped by byte (all first bytes, all second bytes, ...) so that gzip finds the repeated
   * sign-and-exponent bytes, then gzipped, then base64. loadModel undoes the three steps. */
  async function loadModel(file) {
    if (!file || file.class !== "AttentionSeq2seq") {
      throw new Error(`not an exported AttentionSeq2seq: class ${file && file.class}`);
    }
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      throw new Error("this engine reads float32 little-endian and this machine is big-endian");
    }
    let planes;
    try {
      const text = atob(file.data), packed = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) packed[i] = text.charCodeAt(i);
      planes = new Uint8Array(await new Response(
        new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
    } catch (e) { // atob's and gunzip's own messages do not say what they could not read
      throw new Error(`the model file's data is not whole gzip in base64 (${e.message})`);
    }
    const count = file.arrays.reduce((n, a) => n + size(a.shape), 0);
    if (planes.length !== 4 * count) {
      throw new Error(`the model file holds ${planes.length} bytes, its arrays need ${4 * count}`);
    }
    const bytes = new Uint8Array(4 * count);
    for (let b = 0; b < 4; b++) {
      for (let i = 0; i < count; i++) bytes[4 * i + b] = planes[b * count + i];
    }
    // float32 numbers, held as float64 (exactly the same values): the arithmetic below is in
    // float64 anyway, and one kind of array keeps the JIT's code for every product the same
    const all = Float64Array.from(new Float32Array(bytes.buffer));
    const params = {};
    let offset = 0;
    for (const { name, shape } of file.arrays) {
      params[name] = all.subarray(offset, offset + size(shape));
      offset += size(shape);
    }
    const { vocab_size: V, wordvec_size: D, hidden_size: H } = file.config;
    const expected = {
      "encoder.embed.W": [V, D], "encoder.lstm.Wx": [D, 4 * H], "encoder.lstm.Wh": [H, 4 * H],
      "encoder.lstm.b": [4 * H], "decoder.embed.W": [V, D], "decoder.lstm.Wx": [D, 4 * H],
      "decoder.lstm.Wh": [H, 4 * H], "decoder.lstm.b": [4 * H], "decoder.affine.W": [2 * H, V],
      "decoder.affine.b": [V],
    };
    for (const [name, shape] of Object.entries(expected)) {
      const got = file.arrays.find((a) => a.name === name);
      if (!got || got.shape.join() !== shape.join()) {
        throw new Error(`the model file's ${name} has shape ${got && got.shape}, not ${shape}`);
      }
    }
    // the weight matrices of the products, transposed once for matmulAdd
    const WT = {};
    for (const name of ["encoder.lstm.Wx", "encoder.lstm.Wh", "decoder.lstm.Wx",
                        "decoder.lstm.Wh", "decoder.affine.W"]) {
      WT[name] = transpose(params[name], ...expected[name]);
    }
    return { name: file.name, meta: file.meta || {}, config: file.config,
             vocab: vocabulary(file.vocab), params, WT };
  }

  function size(shape) {
    return shape.reduce((n, d) => n * d, 1);
  }

  // --- the vocabulary: Vocabulary in seqattn/data.py ------------------------------------------

  const PAD = " ";
  // what Python's str.strip() removes (str.isspace): a question of only these is blank
  const PY_SPACE =
    /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;

  function vocabulary(d) {
    const chars = Array.from(d.chars); // in code-point order, as Python sorted them
    const charToId = new Map(chars.map((ch, i) => [ch, i]));
    return { chars, charToId, questionWidth: d.question_width, answerWidth: d.answer_width,
             reversed: d.reversed, startChar: d.start_char, startId: charToId.get(d.start_char) };
  }

  /* A question the model cannot read: the message is Python's ValueError message, word for
   * word, so the page says what `translate` says. */
  class QuestionError extends Error {
    constructor(message) {
      super(message);
      this.name = "QuestionError";
    }
  }

  /* Vocabulary.encode_question: a question -> ids (T,), padded with spaces to the width and
   * reversed if the model was trained on reversed questions. Lengths count characters (code
   * points), as Python's len does. */
  function encodeQuestion(vocab, text) {
    const chars = Array.from(text);
    if (chars.length === 0) throw new QuestionError("the question is empty");
    if (PY_SPACE.test(text)) {
      throw new QuestionError(`the question is blank: ${pyRepr(text)} holds only white space`);
    }
    if (chars.length > vocab.questionWidth) {
      throw new QuestionError(`the question ${shorten(text)} is ${chars.length} characters; ` +
                              `this vocabulary's questions are at most ${vocab.questionWidth}`);
    }
    if (chars.includes(vocab.startChar)) {
      throw new QuestionError(
        `a question cannot contain the separator ${pyRepr(vocab.startChar)}`);
    }
    const unknown = [...new Set(chars.filter((ch) => !vocab.charToId.has(ch)))];
    if (unknown.length) {
      unknown.sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
      throw new QuestionError(
        `characters not in the vocabulary: ${unknown.map(pyRepr).join(", ")}`);
    }
    while (chars.length < vocab.questionWidth) chars.push(PAD);
    const ids = chars.map((ch) => vocab.charToId.get(ch));
    return vocab.reversed ? ids.reverse() : ids;
  }

  /* repr() of a Python str: single quotes unless the text holds ' and no ", backslash escapes,
   * and \xNN, \uNNNN or \UNNNNNNNN for what Python does not print (controls, format characters,
   * separators other than the space). */
  function pyRepr(text) {
    const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
    let out = quote;
    for (const ch of text) {
      const code = ch.codePointAt(0);
      if (ch === quote || ch === "\\") out += "\\" + ch;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (code < 0x20 || code === 0x7f) out += "\\x" + hex(code, 2);
      else if (code < 0x7f) out += ch;
      else if (/[\p{C}\p{Z}]/u.test(ch)) {
        out += code < 0x100 ? "\\x" + hex(code, 2)
          : code < 0x10000 ? "\\u" + hex(code, 4) : "\\U" + hex(code, 8);
      } else out += ch;
    }
    return out + quote;
  }

  function hex(code, width) {
    return code.toString(16).padStart(width, "0");
  }

  /* _shorten in seqattn/data.py: the repr, cut after 40 characters, for error messages. */
  function shorten(text, width = 40) {
    const chars = Array.from(text);
    if (chars.length > width) return pyRepr(chars.slice(0, width).join("")) + "…";
    const r = pyRepr(text);
    return Array.from(r).length <= width + 2 ? r : Array.from(r).slice(0, width).join("") + "…";
  }

  // --- the layers ----------------------------------------------------------------------------

  /* out (rows, M) += x (rows, K) @ W (K, M): the one product everything is made of. It reads
   * W transposed, WT (M, K), which loadModel prepares: each output is then a dot product of two
   * contiguous rows, and two rows of x share each load of WT. Written the plain way (three
   * nested loops over W itself) it runs several times slower in V8. */
  function matmulAdd(out, x, WT, rows, K, M) {
    const K2 = K - (K % 2);
    for (let r = 0; r < rows; r += 2) {
      const two = r + 1 < rows; // the last row may have no partner
      const x0 = r * K, x1 = two ? x0 + K : x0;
      for (let j = 0; j < M; j++) {
        const w = j * K;
        let s0 = 0, s1 = 0, t0 = 0, t1 = 0; // two partial sums per row
        for (let k = 0; k < K2; k += 2) {
          const w0 = WT[w + k], w1 = WT[w + k + 1];
          s0 += x[x0 + k] * w0; s1 += x[x0 + k + 1] * w1;
          t0 += x[x1 + k] * w0; t1 += x[x1 + k + 1] * w1;
        }
        if (K2 < K) { s0 += x[x0 + K2] * WT[w + K2]; t0 += x[x1 + K2] * WT[w + K2]; }
        out[r * M + j] += s0 + s1;
        if (two) out[(r + 1) * M + j] += t0 + t1;
      }
    }
    return out;
  }

  /* W (K, M) -> W^T (M, K), for matmulAdd. */
  function transpose(W, K, M) {
    const WT = new Float64Array(K * M);
    for (let k = 0; k < K; k++) for (let j = 0; j < M; j++) WT[j * K + k] = W[k * M + j];
    return WT;
  }

  /* TimeEmbedding.forward: xs (N, T) ids -> (N, T, D), row xs[n, t] of W (V, D). */
  function timeEmbedding(W, xs, D) {
    const out = new Float64Array(xs.length * D);
    xs.forEach((id, k) => {
      for (let d = 0; d < D; d++) out[k * D + d] = W[id * D + d];
    });
    return out;
  }

  function sigmoid(x) {
    return 0.5 * (1 + Math.tanh(0.5 * x)); // as sigmoid_inplace computes it
  }

  /* TimeLSTM.forward: xs (N, T, D) -> hs (N, T, H), from the state h, c (N, H), which it
   * updates in place (a stateful LSTM keeps it for the next call). */
  function timeLSTM(p, xs, N, T, D, h, c) {
    const H = h.length / N;
    const hs = new Float64Array(N * T * H);
    const x = new Float64Array(N * D);
    const A = new Float64Array(N * 4 * H); // the four gates side by side: f, g, i, o
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) x.set(xs.subarray((n * T + t) * D, (n * T + t + 1) * D), n * D);
      for (let n = 0; n < N; n++) A.set(p.b, n * 4 * H); // A = b + x @ Wx + h @ Wh
      matmulAdd(A, x, p.WxT, N, D, 4 * H);
      matmulAdd(A, h, p.WhT, N, H, 4 * H);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < H; k++) {
          const a = n * 4 * H + k;
          const f = sigmoid(A[a]), g = Math.tanh(A[a + H]);
          const i = sigmoid(A[a + 2 * H]), o = sigmoid(A[a + 3 * H]);
          c[n * H + k] = f * c[n * H + k] + g * i; // c_t = f * c_{t-1} + g * i
          h[n * H + k] = o * Math.tanh(c[n * H + k]); // h_t = o * tanh(c_t)
        }
      }
      for (let n = 0; n < N; n++) hs.set(h.subarray(n * H, (n + 1) * H), (n * T + t) * H);
    }
    return hs;
  }

  /* softmax over the last axis, in place: x (rows, M). */
  function softmaxRows(x, rows, M) {
    for (let r = 0; r < rows; r++) {
      let max = -Infinity, sum = 0;
      for (let j = 0; j < M; j++) max = Math.max(max, x[r * M + j]);
      for (let j = 0; j < M; j++) sum += (x[r * M + j] = Math.exp(x[r * M + j] - max));
      for (let j = 0; j < M; j++) x[r * M + j] /= sum;
    }
    return x;
  }

  /* BatchedTimeAttention.forward for one decoder step: hs_enc (N, T, H), h (N, H) ->
   * the context c (N, H) and the weights a (N, T) = softmax(hs_enc @ h). */
  function attention(hsEnc, h, N, T, H) {
    const a = new Float64Array(N * T);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let k = 0; k < H; k++) s += hsEnc[(n * T + t) * H + k] * h[n * H + k];
        a[n * T + t] = s;
      }
    }
    softmaxRows(a, N, T);
    const c = new Float64Array(N * H);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const w = a[n * T + t];
        for (let k = 0; k < H; k++) c[n * H + k] += w * hsEnc[(n * T + t) * H + k];
      }
    }
    return { c, a };
  }

  // --- the model -----------------------------------------------------------------------------

  /* One LSTM's parameters: Wx (D, 4H) and Wh (H, 4H), as transposed for matmulAdd, and b. */
  function lstmParams(model, prefix) {
    return { WxT: model.WT[prefix + ".Wx"], WhT: model.WT[prefix + ".Wh"],
             b: model.params[prefix + ".b"] };
  }

  /* AttentionSeq2seq.generate: xs (N, T) ids -> the ids it writes (N, A), the attention
   * weights of every step (N, A, T), in the encoder's order, and the probability of each
   * written character (N, A): greedy decoding, one character at a time. */
  function generate(model, xs, N) {
    const { params, vocab } = model;
    const { wordvec_size: D, hidden_size: H, vocab_size: V } = model.config;
    const T = xs.length / N, A = vocab.answerWidth;
    // AttentionEncoder.forward: every hidden state, hs (N, T, H)
    const encH = new Float64Array(N * H), encC = new Float64Array(N * H);
    const hs = timeLSTM(lstmParams(model, "encoder.lstm"),
                        timeEmbedding(params["encoder.embed.W"], xs, D), N, T, D, encH, encC);
    // AttentionDecoder.start: the decoder starts from the last state, with a fresh memory cell
    const h = encH.slice(), c = new Float64Array(N * H);
    const lstm = lstmParams(model, "decoder.lstm");
    const ids = new Int32Array(N * A), weights = new Float64Array(N * A * T);
    const probabilities = new Float64Array(N * A);
    let x = new Int32Array(N).fill(vocab.startId);
    for (let k = 0; k < A; k++) {
      // AttentionDecoder._step with T' = 1
      const decH = timeLSTM(lstm, timeEmbedding(params["decoder.embed.W"], x, D), N, 1, D, h, c);
      const { c: context, a } = attention(hs, decH, N, T, H);
      const ch = new Float64Array(N * 2 * H); // [c, h] (N, 2H)
      for (let n = 0; n < N; n++) {
        ch.set(context.subarray(n * H, (n + 1) * H), n * 2 * H);
        ch.set(decH.subarray(n * H, (n + 1) * H), n * 2 * H + H);
      }
      const score = new Float64Array(N * V);
      for (let n = 0; n < N; n++) score.set(params["decoder.affine.b"], n * V);
      matmulAdd(score, ch, model.WT["decoder.affine.W"], N, 2 * H, V);
      x = new Int32Array(N);
      for (let n = 0; n < N; n++) {
        let best = 0; // argmax: the first of equal scores, as NumPy's
        for (let v = 1; v < V; v++) if (score[n * V + v] > score[n * V + best]) best = v;
        x[n] = best;
        ids[n * A + k] = best;
        weights.set(a.subarray(n * T, (n + 1) * T), (n * A + k) * T);
      }
      softmaxRows(score, N, V);
      for (let n = 0; n < N; n++) probabilities[n * A + k] = score[n * V + x[n]];
    }
    return { ids, weights, probabilities };
  }

  /* translate: one question -> { answer, attention, probabilities }. attention holds A rows of
   * T weights, column j the question's j-th character as written (a reversed question is
   * turned back); probabilities (A,). A question the model cannot read throws QuestionError. */
  function translate(model, question) {
    const vocab = model.vocab;
    const xs = encodeQuestion(vocab, question);
    const T = xs.length, A = vocab.answerWidth;
    const { ids, weights, probabilities } = generate(model, Int32Array.from(xs), 1);
    const attention = [];
    for (let k = 0; k < A; k++) {
      const row = weights.slice(k * T, (k + 1) * T);
      attention.push(vocab.reversed ? row.reverse() : row);
    }
    const answer = Array.from(ids, (id) => vocab.chars[id]).join("");
    return { question, answer, attention, probabilities: Array.from(probabilities) };
  }

  return { loadModel, encodeQuestion, generate, translate, QuestionError, pyRepr };
});
