// The live-update socket every page shares. The pages work without it, just not live: while
// it is down (the server or its Redis away) the page says so, and it reconnects with backoff.
(function () {
  const NOTICE = "Live updates paused — reconnecting…";

  function notice() {
    let element = document.getElementById("live-notice");
    if (!element) {
      element = document.createElement("div");
      element.id = "live-notice";
      element.className = "message warning";
      element.setAttribute("role", "status");
      element.hidden = true;
      element.textContent = NOTICE;
      (document.querySelector("main") || document.body).prepend(element);
    }
    return element;
  }

  // liveSocket("/ws/jobs/", {open, message, status}): `open(again)` runs on each connection,
  // `again` true after an interruption (updates were missed: read the state afresh);
  // `message` gets each parsed message; `status`, an element, reads "live" or "paused".
  // Returns {close()}, which stops it for good.
  window.liveSocket = function (path, handlers) {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let delay = 1000;
    let socket = null;
    let stopped = false;
    let opened = false;

    function show(live) {
      notice().hidden = live;
      if (handlers.status) handlers.status.textContent = live ? "live" : "paused, reconnecting…";
    }

    function connect() {
      socket = new WebSocket(scheme + location.host + path);
      socket.onopen = function () {
        delay = 1000;
        show(true);
        if (handlers.open) handlers.open(opened);
        opened = true;
      };
      socket.onmessage = function (event) {
        if (handlers.message) handlers.message(JSON.parse(event.data));
      };
      socket.onclose = function () {
        if (stopped) return;
        show(false);
        // Jitter, so a restarted server is not met by every page at the same instant.
        setTimeout(connect, delay * (0.75 + Math.random() / 2));
        delay = Math.min(delay * 2, 15000);
      };
    }
    connect();
    return {
      close: function () {
        stopped = true;
        notice().hidden = true;
        socket.close();
      },
    };
  };
})();
