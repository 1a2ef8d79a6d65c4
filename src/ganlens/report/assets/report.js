// ganlens dissection report: sort and filter each layer's unit grid (no network, no libraries).
"use strict";
(function () {
  const orders = {
    unit: (a, b) => a.unit - b.unit,
    iou: (a, b) => b.iou - a.iou || a.unit - b.unit,
    concept: (a, b) => a.concept.localeCompare(b.concept) || b.iou - a.iou || a.unit - b.unit,
  };
  document.querySelectorAll("section.layer").forEach(function (section) {
    const grid = section.querySelector(".units");
    if (!grid) return;
    const cards = Array.from(grid.querySelectorAll(".unit")).map(function (el) {
      return { el: el, unit: Number(el.dataset.unit), iou: Number(el.dataset.iou),
               concept: el.dataset.concept, interpretable: el.dataset.interpretable === "1" };
    });
    const buttons = section.querySelectorAll("button[data-sort]");
    const filter = section.querySelector("select.concept-filter");
    const onlyInterpretable = section.querySelector("input.interpretable-only");
    const shown = section.querySelector(".shown");
    let sort = "unit";
    function apply() {
      cards.slice().sort(orders[sort]).forEach(function (card) { grid.appendChild(card.el); });
      const concept = filter ? filter.value : "";
      const only = onlyInterpretable ? onlyInterpretable.checked : false;
      let count = 0;
      cards.forEach(function (card) {
        const visible = (!concept || card.concept === concept) && (!only || card.interpretable);
        card.el.hidden = !visible;
        if (visible) count += 1;
      });
      buttons.forEach(function (b) { b.classList.toggle("active", b.dataset.sort === sort); });
      if (shown) shown.textContent = count + " of " + cards.length + " units shown";
      section.dataset.sort = sort;
    }
    buttons.forEach(function (button) {
      button.addEventListener("click", function () { sort = button.dataset.sort; apply(); });
    });
    if (filter) filter.addEventListener("change", apply);
    if (onlyInterpretable) onlyInterpretable.addEventListener("change", apply);
    section.querySelectorAll("[data-filter-concept]").forEach(function (el) {
      el.addEventListener("click", function () {
        if (filter) { filter.value = el.dataset.filterConcept; apply(); }
      });
    });
    apply();
  });
})();
