// Shows which Region served this page, from the sandbox's response header.
fetch(location.href, { method: "HEAD" }).then((response) => {
  const region = response.headers.get("X-Served-By-Region");
  if (region) document.body.insertAdjacentHTML("beforeend", `<p>Served from <b>${region}</b>.</p>`);
});
