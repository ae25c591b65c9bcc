// Typeset the formulas in the search results' snippets (loaded on search.html only, by
// book/_ext/page_fixes.py). Sphinx adds the results one by one while the search runs; each
// change is typeset once MathJax is ready (changes made while a typeset runs are picked up
// by one more pass when it ends).
(function () {
  "use strict";
  let running = false;
  let again = false;
  function typeset(root) {
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return;
    if (running) { again = true; return; }
    running = true;
    dropUnclosed(root);
    MathJax.startup.promise
      .then(() => MathJax.typesetPromise([root]))
      .catch(() => {})
      .finally(() => {
        running = false;
        if (again) { again = false; typeset(root); }
      });
  }
  // A snippet cut inside a formula ("\\(i_t = \\sigma(x_t W^i +...") cannot be typeset:
  // end it before the unclosed formula instead of showing raw LaTeX.
  function dropUnclosed(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.parentElement && n.parentElement.closest("mjx-container")) continue;
      const t = n.nodeValue;
      for (const [open, close] of [["\\(", "\\)"], ["\\[", "\\]"]]) {
        const i = t.lastIndexOf(open);
        if (i >= 0 && t.indexOf(close, i) < 0) { n.nodeValue = t.slice(0, i) + "..."; break; }
      }
    }
  }
  const ours = (n) => n.nodeType !== 1 || n.tagName.startsWith("MJX-") || n.closest("mjx-container");
  function watch() {
    const root = document.getElementById("search-results");
    if (!root) return;
    new MutationObserver((changes) => {
      if (changes.some((c) => [...c.addedNodes].some((n) => !ours(n)))) typeset(root);
    }).observe(root, { childList: true, subtree: true });
    typeset(root);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
