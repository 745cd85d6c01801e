// "Sync now" progress: polls the round's JSON status (portfolio:sync_round_status) and updates
// the progress element the page rendered; reloads once the round completes so that the page
// shows the new holdings. Without JavaScript the element shows the state at page load.
"use strict";

(function () {
  const POLL_MS = 1500;
  const MAX_POLLS = 400; // ten minutes: a round stuck on a dead worker must not poll forever

  const box = document.querySelector("[data-sync-status-url]");
  if (!box || box.dataset.complete === "true") {
    return;
  }
  const url = box.dataset.syncStatusUrl;
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-sync-text]");
  const list = box.querySelector("[data-sync-locations]");
  let polls = 0;

  function plural(count) {
    return count === 1 ? "account" : "accounts";
  }

  function showLocations(locations) {
    // Built node by node: names and errors come from exchanges and must stay text.
    list.replaceChildren(
      ...locations.map((run) => {
        const item = document.createElement("li");
        item.textContent = run.name + ": " + run.outcome + (run.error ? " · " + run.error : "");
        return item;
      })
    );
  }

  function show(status) {
    bar.max = Math.max(status.total, 1);
    bar.value = status.finished;
    const counted = status.finished + " of " + status.total + " " + plural(status.total);
    text.textContent = status.complete ? "Finished: " + counted + "." : "Running: " + counted + " finished.";
    showLocations(status.locations);
    box.dataset.complete = status.complete ? "true" : "false";
  }

  async function poll() {
    polls += 1;
    let status;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) {
        text.textContent = "Progress unavailable (" + response.status + "): reload the page to update.";
        return;
      }
      status = await response.json();
    } catch (error) {
      text.textContent = "Progress unavailable: reload the page to update.";
      return;
    }
    show(status);
    if (status.complete) {
      window.location.reload();
    } else if (polls < MAX_POLLS) {
      window.setTimeout(poll, POLL_MS);
    } else {
      text.textContent += " Still running: reload the page later.";
    }
  }

  poll();
})();
