// Serves the ipywidgets JavaScript from the book itself, never from a CDN.
//
// `make widgets` unpacks @jupyter-widgets/html-manager (embed-amd.js, its fonts) and
// require.js into _extra/_static/widgets/ and copies this file beside them; _config.yml
// (nb_ipywidgets_js) loads require.js, this file and embed-amd.js, in that order, on the pages
// whose notebook holds widget state. embed-amd.js defines the widget modules as AMD modules and
// would otherwise look for them, and for its FontAwesome fonts, relative to the *page*
// (book/@jupyter-widgets/...): here they are pointed at this folder instead.
(function () {
  var here = document.currentScript.src.replace(/[?#].*$/, "").replace(/[^\/]*$/, "");
  var names = ["@jupyter-widgets/base", "@jupyter-widgets/controls",
               "@jupyter-widgets/base7", "@jupyter-widgets/controls7",
               "@jupyter-widgets/html-manager",
               "@jupyter-widgets/html-manager/dist/libembed-amd"];
  var paths = {};
  names.forEach(function (n) { paths[n] = here + n.replace(/[@\/]/g, "_"); });
  window.__jupyter_widgets_assets_path__ = here;
  window.require.config({ paths: paths });

  // ipywidgets typesets widget descriptions with MathJax 2's API, MathJax.Hub.Queue, whenever
  // window.MathJax exists, and the book loads MathJax 3, which has no Hub: every description
  // ("page", ...) would throw "Cannot read properties of undefined (reading 'Queue')". The
  // widgets are drawn on window "load", after MathJax (a deferred script) has run.
  function mathjax2Queue() {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function (job) {  // job: ["Typeset", MathJax.Hub, element]
        var element = job && job[2];
        if (!element || !mj.typesetPromise) return;
        var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
        ready.then(function () { return mj.typesetPromise([element]); }).catch(function () {});
      }
    };
  }
  document.addEventListener("DOMContentLoaded", mathjax2Queue);
  window.addEventListener("load", mathjax2Queue);
})();
