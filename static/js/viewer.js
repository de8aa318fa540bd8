// A minimal dark viewer: fit or 1:1, wheel zoom, drag to pan, brightness and contrast.
(function () {
  const viewer = document.getElementById("viewer");
  const stage = viewer.querySelector(".viewer-stage");
  const image = document.getElementById("viewer-image");
  const brightness = document.getElementById("brightness");
  const contrast = document.getElementById("contrast");
  let scale = 1, x = 0, y = 0, drag = null;

  function apply() {
    image.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
    image.style.filter = "brightness(" + brightness.value + "%) contrast(" + contrast.value + "%)";
  }
  function reset(actual) {
    scale = 1; x = 0; y = 0;
    stage.classList.toggle("actual", actual);
    apply();
  }
  brightness.addEventListener("input", apply);
  contrast.addEventListener("input", apply);
  document.getElementById("fit").onclick = function () { reset(false); };
  document.getElementById("actual").onclick = function () { reset(true); };
  document.getElementById("reset").onclick = function () {
    brightness.value = 100; contrast.value = 100; reset(false);
  };
  stage.addEventListener("wheel", function (event) {
    event.preventDefault();
    scale = Math.min(8, Math.max(0.25, scale * (event.deltaY < 0 ? 1.15 : 1 / 1.15)));
    apply();
  }, { passive: false });
  stage.addEventListener("mousedown", function (event) { drag = [event.clientX - x, event.clientY - y]; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (event) {
    if (!drag) return;
    x = event.clientX - drag[0]; y = event.clientY - drag[1]; apply();
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT") return;
    if (event.key === "f" || event.key === "F") reset(false);
    if (event.key === "1") reset(true);
    if (event.key === "r" || event.key === "R") document.getElementById("reset").click();
    if (event.key === "+" || event.key === "=") { scale = Math.min(8, scale * 1.25); apply(); }
    if (event.key === "-") { scale = Math.max(0.25, scale / 1.25); apply(); }
  });
  // Cine loops: Space plays or pauses, the arrow keys step one frame.
  const frames = JSON.parse(document.getElementById("frames").textContent);
  const play = document.getElementById("play");
  const frameNumber = document.getElementById("frame-number");
  let frame = 0, timer = null;
  frames.forEach(function (url) { new Image().src = url; });  // preload every frame
  function show(index) {
    frame = (index + frames.length) % frames.length;
    image.src = frames[frame];
    if (frameNumber) frameNumber.textContent = "frame " + (frame + 1) + "/" + frames.length;
  }
  function toggle() {
    if (frames.length < 2) return;
    if (timer) { clearInterval(timer); timer = null; play.textContent = "Play (Space)"; }
    else { timer = setInterval(function () { show(frame + 1); }, 80); play.textContent = "Pause (Space)"; }
  }
  if (play) play.onclick = toggle;
  document.addEventListener("keydown", function (event) {
    if (event.key === " ") { event.preventDefault(); toggle(); }
    if (event.key === "ArrowRight") show(frame + 1);
    if (event.key === "ArrowLeft") show(frame - 1);
  });
  viewer.focus();
})();
