"use strict";
// Filters: a card is shown when its model and its status are both ticked.
// Only data attributes are read and only textContent and `hidden` are written:
// no text from the folder is ever parsed as HTML.
(() => {
  const cards = Array.from(document.querySelectorAll(".card"));
  const boxes = Array.from(document.querySelectorAll(".filters input[type=checkbox]"));
  const sections = Array.from(document.querySelectorAll("main section"));
  const shown = document.getElementById("shown");

  const ticked = (kind) =>
    new Set(boxes.filter((box) => box.dataset.filter === kind && box.checked).map((box) => box.value));

  function apply() {
    const models = ticked("model");
    const statuses = ticked("status");
    let visible = 0;
    for (const card of cards) {
      card.hidden = !(models.has(card.dataset.model) && statuses.has(card.dataset.status));
      if (!card.hidden) visible += 1;
    }
    for (const section of sections) {
      section.hidden = section.querySelector(".card:not([hidden])") === null;
    }
    if (shown) shown.textContent = `${visible} of ${cards.length} shown`;
  }

  for (const box of boxes) box.addEventListener("change", apply);
  apply();
})();
