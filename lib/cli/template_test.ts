import assert from "node:assert/strict";
import { CorralError } from "../errdefs/mod.ts";
import { goString, parseTemplate } from "./template.ts";

const inspect = {
  Name: "/web",
  State: { Status: "running", Running: true, ExitCode: 0 },
  Config: { Env: ["A=1", "B=2"], Labels: { tier: "front", app: "shop" } },
  NetworkSettings: {
    Networks: { bridge: { IPAddress: "10.0.0.2" }, back: { IPAddress: "10.1.0.2" } },
    Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "443/tcp": null },
  },
};

const render = (t: string, data: unknown = inspect) => parseTemplate(t).render(data);

Deno.test("fields, json and the docker CLI's functions", () => {
  assert.equal(render("{{.State.Status}} {{.State.ExitCode}}"), "running 0");
  assert.equal(render("{{json .Config.Labels}}"), '{"tier":"front","app":"shop"}');
  assert.equal(render("{{.Config.Labels}}"), "map[app:shop tier:front]");
  assert.equal(render("{{.Config.Env}}"), "[A=1 B=2]");
  assert.equal(render('{{join .Config.Env ","}}|{{upper .State.Status}}'), "A=1,B=2|RUNNING");
  assert.equal(render('{{index .Config.Labels "tier"}}'), "front");
  // A label that is not there is empty, as in Docker's typed map; a missing field is no value.
  assert.equal(render('[{{index .Config.Labels "nope"}}]'), "[]");
  assert.equal(render("{{.Missing}} {{.State.Nope}}"), "<no value> <no value>");
  assert.equal(render('{{len .Config.Env}} {{printf "%s-%d" .Name 7}}'), "2 /web-7");
  assert.equal(
    render('{{printf "%-6s|%4d|%.2f|%x|%5.3s|" "ab" 42 1.5 255 "abcdef"}}'),
    "ab    |  42|1.50|ff|  abc|",
  );
  assert.equal(render("{{.State.Status | upper}}"), "RUNNING");
  assert.equal(render("{{.}}", "x"), "x");
  assert.equal(render('{{"a\\tb\\x41\\101"}}'), "a\tbAA");
  assert.equal(render('{{printf "}}"}}'), "}}");
  assert.equal(
    render('{{slice "abcdef" 1 3}} {{if gt (len .Config.Env) 1}}many{{end}}'),
    "bc many",
  );
  assert.equal(
    render('{{.Label "tier"}}', {
      Label: (k: string) => ({ tier: "front" } as Record<string, string>)[k] ?? "",
    }),
    "front",
  );
  assert.equal(render("{{.constructor}} {{.toString}}"), "<no value> <no value>");
  assert.equal(goString({ b: [1, 2], a: "x" }), "map[a:x b:[1 2]]");
});

Deno.test("range, if, with, else if, variables and parentheses", () => {
  assert.equal(
    render("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"),
    "10.1.0.2 10.0.0.2 ",
  );
  assert.equal(
    render("{{range $name, $n := .NetworkSettings.Networks}}{{$name}}={{$n.IPAddress}};{{end}}"),
    "back=10.1.0.2;bridge=10.0.0.2;",
  );
  assert.equal(
    render(
      "{{range $p, $b := .NetworkSettings.Ports}}{{if $b}}{{$p}}->{{(index $b 0).HostPort}}{{else}}{{$p}} closed {{end}}{{end}}",
    ),
    "443/tcp closed 80/tcp->8080",
  );
  assert.equal(render("{{if .State.Running}}up{{else}}down{{end}}"), "up");
  const chain =
    '{{if eq .State.Status "running"}}up{{else if eq .State.Status "exited"}}down{{else}}other{{end}}';
  assert.equal(render(chain), "up");
  assert.equal(render(chain, { State: { Status: "exited" } }), "down");
  assert.equal(render(chain, { State: { Status: "paused" } }), "other");
  assert.equal(render('{{if eq .State.Status "exited" "dead"}}gone{{else}}here{{end}}'), "here");
  assert.equal(
    render("{{with .State}}{{.Status}}{{end}}{{with .Nope}}x{{else with .Name}}{{.}}{{end}}"),
    "running/web",
  );
  assert.equal(render("{{range .Empty}}x{{else}}empty{{end}}"), "empty");
  assert.equal(render('{{- /* note */ -}}\n a {{- "\tb" -}}\n'), "a\tb");
  assert.equal(render("{{$s := .State.Status}}{{$s}}/{{$.Name}}"), "running//web");
  assert.equal(render('{{$x := "a"}}{{if true}}{{$x := "b"}}{{$x}}{{end}}{{$x}}'), "ba");
});

Deno.test("a bad template is one clear usage error, never a crash", () => {
  const bad = [
    "{{.State",
    "{{if .X}}x",
    "{{nosuch .X}}",
    "{{end}}",
    "{{.A | }}",
    "{{(index .A 0}}",
    "{{valueOf}}",
    "{{__proto__}}",
    "{{join .Config.Env}}",
    '{{"\\q"}}',
    "{{$a $b := .X}}",
    "{{/* open }}",
    "{{index .Config.Env 5}}",
    "{{range .Name}}x{{end}}",
    '{{lt 1 "a"}}',
    "{{.Name 1}}",
  ];
  for (const t of bad) {
    assert.throws(() => render(t), (err: unknown) => {
      assert.ok(err instanceof CorralError, `${t}: ${err}`);
      assert.equal(err.kind, "invalid");
      assert.match(err.message, /^template: /);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    }, t);
  }
});
