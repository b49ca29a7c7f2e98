// Visual analogue scale: a line with no marker until the participant touches or clicks it.
//
// Rules (ehp30-vas spec): no tick marks or numbers on the line; the value stays empty until
// she places the mark, so an untouched VAS is submitted as "not answered", never as 50.
// Keyboard, once the line has focus: Home places the mark at the left end (0), End at the right
// end (100); after that the arrow keys move it by 1 and Page Up / Page Down by 10. An arrow key
// on an untouched line places nothing: it announces how to start, so no value is invented.
// Without JavaScript the page shows a number field (0-100, empty) instead.
(function () {
  "use strict";
  var root = document.querySelector("[data-vas]");
  if (!root) { return; }
  var line = root.querySelector("[role=slider]");
  var marker = root.querySelector(".vas-marker");
  var input = root.querySelector("input[type=number]");
  var live = root.querySelector("[data-vas-live]");
  var form = root.closest("form");
  var meta = function (name) { return form.querySelector('input[name="meta_' + name + '"]'); };

  root.querySelector("[data-vas-fallback]").hidden = true;
  root.querySelector("[data-vas-track]").hidden = false;
  root.querySelector("[data-vas-help]").hidden = false;
  input.type = "hidden";
  input.removeAttribute("id");

  var value = line.dataset.value === "" ? null : parseInt(line.dataset.value, 10);

  var show = function () {
    if (value === null) {
      marker.hidden = true;
      line.removeAttribute("aria-valuenow");
      line.setAttribute("aria-valuetext", line.dataset.textUnanswered);
      return;
    }
    marker.hidden = false;
    marker.style.left = value + "%";
    line.setAttribute("aria-valuenow", String(value));
    line.setAttribute("aria-valuetext",
      value + " (0 = " + line.dataset.low + ", 100 = " + line.dataset.high + ")");
  };

  var set = function (next, how) {
    value = Math.max(0, Math.min(100, Math.round(next)));
    input.value = String(value);
    meta("client_answered_at").value = new Date().toISOString();
    meta("viewport_width").value = String(window.innerWidth);
    meta("device_pixel_ratio").value = String(window.devicePixelRatio || 1);
    meta("input").value = how;
    live.textContent = "";  // the mark is placed: the "no mark yet" hint no longer holds
    show();
    input.dispatchEvent(new Event("change", { bubbles: true }));
  };

  var fromPointer = function (event) {
    var box = line.getBoundingClientRect();
    set(((event.clientX - box.left) / box.width) * 100, "pointer");
  };

  var dragging = false;
  line.addEventListener("pointerdown", function (event) {
    dragging = true;
    line.focus();
    if (line.setPointerCapture) { line.setPointerCapture(event.pointerId); }
    fromPointer(event);
    event.preventDefault();
  });
  line.addEventListener("pointermove", function (event) { if (dragging) { fromPointer(event); } });
  line.addEventListener("pointerup", function () { dragging = false; });
  line.addEventListener("pointercancel", function () { dragging = false; });

  var steps = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -10, PageUp: 10 };
  line.addEventListener("keydown", function (event) {
    if (event.key === "Home") { set(0, "keyboard"); }
    else if (event.key === "End") { set(100, "keyboard"); }
    else if (event.key in steps) {
      if (value === null) { live.textContent = line.dataset.textHint; }
      else { set(value + steps[event.key], "keyboard"); }
    } else { return; }
    event.preventDefault();
  });

  show();
})();
