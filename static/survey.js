// Hài Lòng survey page: hides questions whose condition (data-if / data-eq) is not met.
// Without JavaScript every question stays visible, with its hint saying when to answer it,
// and the server ignores those that do not apply. A hidden fieldset is also disabled, so its
// answers are not sent; its no-JavaScript hint is hidden too, since it no longer applies.
(function () {
  "use strict";
  // After a refused submission, move focus to the error summary so it is read first.
  var summary = document.getElementById("errors");
  if (summary) summary.focus();
  var conds = document.querySelectorAll("fieldset[data-if]");
  if (!conds.length) return;
  for (var i = 0; i < conds.length; i++) {
    var hint = document.getElementById("h-" + conds[i].id.slice(2));
    if (!hint) continue;
    hint.hidden = true;
    var ins = conds[i].querySelectorAll("[aria-describedby]");
    for (var j = 0; j < ins.length; j++) {
      var d = ins[j].getAttribute("aria-describedby").replace(hint.id, "").trim();
      if (d) ins[j].setAttribute("aria-describedby", d);
      else ins[j].removeAttribute("aria-describedby");
    }
  }
  function update() {
    for (var i = 0; i < conds.length; i++) {
      var el = conds[i];
      var sel = document.querySelector('input[name="' + el.getAttribute("data-if") + '"]:checked');
      var show = !!sel && sel.value === el.getAttribute("data-eq");
      el.hidden = !show;
      el.disabled = !show;
    }
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.type === "radio") update();
  });
  update();
})();
