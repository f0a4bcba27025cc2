// Progressive enhancement for the ward search: submit when the province changes.
// The page works without it (the form is a plain GET form).
(function () {
  var sel = document.getElementById("province");
  if (sel && sel.form) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  }
})();
