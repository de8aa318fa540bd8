// Drag-and-drop import: create an import job, send the files in batches, start it, then
// follow its progress live (jobs websocket) until the report is ready.
(function () {
  const zone = document.getElementById("dropzone");
  const panel = document.getElementById("progress-panel");
  const BATCH_FILES = 16, BATCH_BYTES = 32 * 1024 * 1024;

  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: Object.assign({ "X-CSRFToken": csrf() }, body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.detail || JSON.stringify(data));
        return data;
      });
    });
  }
  function bar(id, done, total) {
    document.getElementById(id + "-bar").style.width = (total ? Math.round(100 * done / total) : 0) + "%";
    document.getElementById(id + "-count").textContent = done + "/" + total;
  }

  // Files from a drop, walking dropped folders; each keeps its path relative to the drop.
  function entries(entry, prefix, out) {
    return new Promise(function (resolve) {
      if (entry.isFile) {
        entry.file(function (file) { out.push([prefix + file.name, file]); resolve(); }, resolve);
      } else if (entry.isDirectory) {
        const reader = entry.createReader(), children = [];
        (function more() {
          reader.readEntries(function (batch) {
            if (!batch.length) {
              Promise.all(children.map(function (c) { return entries(c, prefix + entry.name + "/", out); })).then(resolve);
            } else { children.push.apply(children, batch); more(); }
          }, resolve);
        })();
      } else resolve();
    });
  }

  function send(job, files, index, sent) {
    if (index >= files.length) return Promise.resolve();
    const form = new FormData();
    let bytes = 0, end = index;
    while (end < files.length && end - index < BATCH_FILES && (bytes < BATCH_BYTES || end === index)) {
      form.append("files", files[end][1]);
      form.append("names", files[end][0]);
      bytes += files[end][1].size; end++;
    }
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/imports/" + job.id + "/files/");
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) bar("upload", index + Math.round((end - index) * event.loaded / event.total), files.length);
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { bar("upload", end, files.length); resolve(); }
        else reject(new Error(xhr.responseText));
      };
      xhr.onerror = function () { reject(new Error("the connection dropped during the upload")); };
      xhr.send(form);
    }).then(function () { return send(job, files, end, sent + bytes); });
  }

  function follow(job) {
    const link = document.getElementById("import-link");
    function show(state) {
      bar("import", state.done, state.total);
      document.getElementById("import-status").textContent = state.message || state.status;
      if (state.status === "succeeded" || state.status === "failed") {
        link.innerHTML = '<a href="/imports/' + job.id + '/">Open the import report</a>';
        if (state.error) document.getElementById("import-error").textContent = state.error;
        return true;
      }
      return false;
    }
    const socket = liveSocket("/ws/jobs/", {
      message: function (data) {
        if (data.job && data.job.kind === "importjob" && data.job.id === job.id && show(data.job)) socket.close();
      },
      // A finished job sends nothing more: ask after each (re)connection, in case it raced us.
      open: function () {
        api("GET", "/api/imports/" + job.id + "/").then(function (state) {
          const done = show({ done: state.progress_done, total: state.progress_total, status: state.status,
                              message: state.message, error: state.error });
          if (done) socket.close();
        });
      },
    });
  }

  function start(files) {
    if (!files.length) return;
    panel.hidden = false;
    document.getElementById("import-error").textContent = "";
    bar("upload", 0, files.length); bar("import", 0, 0);
    const center = document.getElementById("center").value || null;
    api("POST", "/api/imports/", { center: center })
      .then(function (job) {
        return send(job, files, 0, 0)
          .then(function () { return api("POST", "/api/imports/" + job.id + "/start/"); })
          .then(function () { follow(job); });
      })
      .catch(function (error) { document.getElementById("import-error").textContent = error.message; });
  }

  zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (event) {
    event.preventDefault(); zone.classList.remove("over");
    const out = [], items = Array.prototype.slice.call(event.dataTransfer.items || []);
    const walks = items.map(function (item) {
      const entry = item.webkitGetAsEntry && item.webkitGetAsEntry();
      if (entry) return entries(entry, "", out);
      const file = item.getAsFile();
      if (file) out.push([file.name, file]);
      return Promise.resolve();
    });
    Promise.all(walks).then(function () { start(out); });
  });
  document.getElementById("pick-files").addEventListener("change", function (event) {
    start(Array.prototype.map.call(event.target.files, function (f) { return [f.name, f]; }));
  });
  document.getElementById("pick-folder").addEventListener("change", function (event) {
    start(Array.prototype.map.call(event.target.files, function (f) { return [f.webkitRelativePath || f.name, f]; }));
  });
})();
