// Attachment uploads: drag and drop, one request per file, a progress bar per file with bytes
// and percentage (XMLHttpRequest upload progress), and a clear message for every rejected file.
// Each file goes as the request body itself (no multipart form around it), named by a
// Content-Disposition header, so the server streams it straight into the encryptor as the API
// does. Without JavaScript the form still posts the chosen files the ordinary way.

const form = document.getElementById("upload-form");
const input = document.getElementById("files");
const dropzone = document.getElementById("dropzone");
const list = document.getElementById("uploads");
const heading = document.getElementById("progress-heading");
const errorBox = document.getElementById("upload-errors");
const errorList = document.getElementById("upload-error-list");
const maxBytes = Number(form.dataset.maxBytes || 0);
const csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;

export function formatBytes(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function showError(file, message) {
  const item = document.createElement("li");
  item.textContent = `${file.name}: ${message}`;
  errorList.appendChild(item);
  errorBox.hidden = false;
  errorBox.focus();
}

function row(file) {
  const item = document.createElement("li");
  item.className = "accord-upload";
  item.dataset.filename = file.name;
  const name = document.createElement("div");
  name.className = "accord-upload__name";
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  const status = document.createElement("div");
  status.className = "accord-upload__status";
  status.textContent = `0 bytes of ${formatBytes(file.size)} (0%)`;
  item.append(name, bar, status);
  list.appendChild(item);
  heading.hidden = false;
  return { item, bar, status };
}

// RFC 8187 ext-value: UTF-8, percent-encoded, with the characters encodeURIComponent keeps but
// the header's syntax reserves (' ( ) *) encoded too.
export function dispositionFor(name) {
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename*=UTF-8''${encoded}`;
}

// The file's own type, unless it is one the server would parse as a form instead of keeping.
export function bodyType(file) {
  const type = (file.type || "").toLowerCase();
  if (!type || type.startsWith("multipart/") || type === "application/x-www-form-urlencoded") {
    return "application/octet-stream";
  }
  return file.type;
}

function reason(xhr) {
  try {
    const body = JSON.parse(xhr.responseText);
    if (body.error) return body.error;
    if (body.errors) return [].concat(...Object.values(body.errors)).join(" ");
    if (body.detail) return body.detail;
  } catch {
    // Not JSON: a short plain-text answer is the server's own explanation.
    const type = xhr.getResponseHeader("Content-Type") || "";
    const text = xhr.responseText.trim();
    if (type.startsWith("text/plain") && text && text.length < 300) return text;
  }
  if (xhr.status === 413) return "the file is too large.";
  if (xhr.status === 0) return "the connection was lost. Try again.";
  return `the server refused it (${xhr.status}).`;
}

function upload(file) {
  const { item, bar, status } = row(file);
  if (maxBytes && file.size > maxBytes) {
    item.classList.add("accord-upload--failed");
    status.textContent = `Not uploaded: larger than ${formatBytes(maxBytes)}.`;
    showError(file, `larger than the ${formatBytes(maxBytes)} limit.`);
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", bodyType(file));
    xhr.setRequestHeader("Content-Disposition", dispositionFor(file.name));
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      // The request body is the file itself.
      const sent = Math.min(file.size, event.loaded);
      const percent = event.total ? Math.floor((event.loaded / event.total) * 100) : 100;
      bar.value = percent;
      status.textContent = `${formatBytes(sent)} of ${formatBytes(file.size)} (${percent}%)`;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        item.classList.add("accord-upload--done");
        status.textContent = `${formatBytes(file.size)} of ${formatBytes(file.size)} (100%) — uploaded, being checked`;
        resolve(true);
      } else {
        item.classList.add("accord-upload--failed");
        const why = reason(xhr);
        status.textContent = `Not accepted: ${why}`;
        showError(file, why);
        resolve(false);
      }
    });
    xhr.addEventListener("error", () => {
      item.classList.add("accord-upload--failed");
      status.textContent = "Not uploaded: the connection was lost. Try again.";
      showError(file, "the connection was lost.");
      resolve(false);
    });
    xhr.send(file);
  });
}

async function uploadAll(files) {
  errorList.replaceChildren();
  errorBox.hidden = true;
  for (const file of files) {
    // One at a time: each file's bar moves on its own and the server streams one body at a time.
    await upload(file);
  }
  input.value = "";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (input.files.length === 0) {
    showError({ name: "No file" }, "choose at least one file to upload.");
    return;
  }
  uploadAll([...input.files]);
});

for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("accord-dropzone--over");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropzone.addEventListener(type, () => dropzone.classList.remove("accord-dropzone--over"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer && event.dataTransfer.files.length) {
    uploadAll([...event.dataTransfer.files]);
  }
});
