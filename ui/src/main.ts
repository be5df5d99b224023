import "./style.css";

const app = document.querySelector<HTMLElement>("#app");
if (app) {
  app.innerHTML = `
    <h1>Duet</h1>
    <p id="status">Calls, contacts and history arrive here soon.</p>
  `;
  app.dataset.ready = "true";
}
