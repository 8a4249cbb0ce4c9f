// Checks every manifest under packaging/kubernetes: that it is valid against
// the Kubernetes OpenAPI schema (kubernetes-models' validate()), what
// kubeconform also checks (names, namespaces, selectors, kustomization
// resources), and the DaemonSet settings README.md ("Deployment") promises:
// non-root, one capability, seccomp, read-only root file system, read-only
// host paths but the state, probes, a memory limit, and a Pod Security label
// on the namespace that admits host paths.
//
// node check_manifests.cjs SOURCE_ROOT NODE_MODULES  (run.sh installs them)
"use strict";

const fs = require("fs");
const path = require("path");

const [root, nodeModules] = process.argv.slice(2);
if (!root || !nodeModules) {
  console.error("usage: node check_manifests.cjs SOURCE_ROOT NODE_MODULES");
  process.exit(2);
}
const YAML = require(path.join(nodeModules, "yaml"));
const modelsDir = path.join(nodeModules, "kubernetes-models");
const packaging = path.join(root, "packaging", "kubernetes");
const problems = [];

function problem(where, text) {
  problems.push(`${where}: ${text}`);
}

function yamlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return entry.name.endsWith(".yaml") ? [full] : [];
  });
}

// The model class of apiVersion/kind, or null.
function modelOf(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const dir = group ? path.join(modelsDir, group, version) : path.join(modelsDir, version);
  try {
    return require(dir)[kind] || null;
  } catch (e) {
    return null;
  }
}

function validate(where, object) {
  const Model = modelOf(object.apiVersion || "", object.kind || "");
  if (!Model) {
    problem(where, `unknown apiVersion/kind ${object.apiVersion}/${object.kind}`);
    return;
  }
  try {
    new Model(object).validate();
  } catch (e) {
    problem(where, `not valid against the schema: ${e.message}`);
  }
}

// The validator must catch a broken object, or the checks above prove nothing.
function selfTest() {
  const broken = {
    apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "x" },
    spec: { selector: { matchLabels: { a: "b" } },
            template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ image: "i" }] } } },
  };
  const Model = modelOf("apps/v1", "DaemonSet");
  try {
    new Model(broken).validate();
  } catch (e) {
    return;
  }
  problem("self-test", "kubernetes-models accepted a container without a name");
}

const NAMESPACED = new Set(["DaemonSet", "ConfigMap", "ServiceAccount", "Secret", "Service", "Role",
                            "RoleBinding", "Deployment"]);

function checkObject(where, object, all) {
  if (!object.metadata || !object.metadata.name) problem(where, "metadata.name is missing");
  if (NAMESPACED.has(object.kind) && !object.metadata.namespace)
    problem(where, `${object.kind} without metadata.namespace`);
  all.push({ where, object });
}

function sameLabels(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);
}

function capabilitiesAre(sc, allowed) {
  const caps = (sc && sc.capabilities) || {};
  return (caps.drop || []).includes("ALL") && (caps.add || []).every((c) => allowed.includes(c));
}

function seccompOf(podSc, sc) {
  const profile = (sc && sc.seccompProfile) || (podSc && podSc.seccompProfile);
  return profile && profile.type;
}

function checkContainer(where, c, podSc, stateMounts, isInit) {
  const sc = c.securityContext || {};
  const at = `${where} container ${c.name}`;
  if (seccompOf(podSc, sc) !== "RuntimeDefault") problem(at, "seccompProfile is not RuntimeDefault");
  if (sc.readOnlyRootFilesystem !== true) problem(at, "readOnlyRootFilesystem is not true");
  if (isInit) {
    if (!capabilitiesAre(sc, ["CHOWN", "FOWNER"])) problem(at, "capabilities beyond CHOWN, FOWNER");
    if (sc.allowPrivilegeEscalation !== false) problem(at, "allowPrivilegeEscalation is not false");
    return;
  }
  if (sc.runAsNonRoot !== true) problem(at, "runAsNonRoot is not true");
  if (!(sc.runAsUser > 0)) problem(at, "runAsUser is not a non-root uid");
  if (!capabilitiesAre(sc, ["DAC_READ_SEARCH"])) problem(at, "capabilities beyond DAC_READ_SEARCH");
  if (!(c.resources && c.resources.limits && c.resources.limits.memory))
    problem(at, "no memory limit");
  const probes = [c.livenessProbe, c.readinessProbe].map((p) => p && p.httpGet && p.httpGet.path);
  if (probes[0] !== "/healthz" || probes[1] !== "/readyz")
    problem(at, "liveness /healthz and readiness /readyz probes are expected");
  for (const m of c.volumeMounts || []) {
    if (!m.readOnly && !stateMounts.has(m.name))
      problem(at, `mount ${m.name} (${m.mountPath}) is writable but is not the state`);
  }
}

function checkDaemonSet(where, ds, namespaces) {
  const spec = ds.spec || {};
  const template = spec.template || {};
  const pod = template.spec || {};
  if (!sameLabels(spec.selector && spec.selector.matchLabels, template.metadata && template.metadata.labels))
    problem(where, "selector does not match the template's labels");
  const hostPaths = (pod.volumes || []).filter((v) => v.hostPath);
  const stateMounts = new Set(hostPaths.filter((v) => /skiff/.test(v.hostPath.path)).map((v) => v.name));
  if (stateMounts.size !== 1) problem(where, "exactly one skiff state hostPath is expected");
  for (const c of pod.initContainers || []) checkContainer(where, c, pod.securityContext, stateMounts, true);
  for (const c of pod.containers || []) checkContainer(where, c, pod.securityContext, stateMounts, false);
  const ns = namespaces.get(ds.metadata.namespace);
  if (!ns) {
    problem(where, `namespace ${ds.metadata.namespace} is not among the manifests`);
  } else if (hostPaths.length && ((ns.metadata.labels || {})["pod-security.kubernetes.io/enforce"] !== "privileged")) {
    problem(where, "host paths need the namespace's pod-security enforce level privileged");
  }
  if (/audit/.test(ds.metadata.name)) {
    const selector = pod.nodeSelector || {};
    const tolerated = (pod.tolerations || []).some((t) => t.key === "node-role.kubernetes.io/control-plane");
    if (!("node-role.kubernetes.io/control-plane" in selector) || !tolerated)
      problem(where, "the audit DaemonSet must select and tolerate control-plane nodes");
  }
}

function checkKustomization(file) {
  const k = YAML.parse(fs.readFileSync(file, "utf8"));
  for (const r of k.resources || []) {
    if (!fs.existsSync(path.join(path.dirname(file), r))) problem(file, `resource ${r} does not exist`);
  }
}

function main() {
  selfTest();
  const all = [];
  for (const file of yamlFiles(packaging)) {
    const where = path.relative(root, file);
    if (path.basename(file) === "kustomization.yaml") {
      checkKustomization(file);
      continue;
    }
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
      if (doc.errors.length) {
        problem(where, `YAML: ${doc.errors[0].message}`);
        continue;
      }
      const object = doc.toJS();
      if (!object) continue;
      const at = `${where} ${object.kind}/${object.metadata && object.metadata.name}`;
      validate(at, object);
      checkObject(at, object, all);
    }
  }
  const namespaces = new Map(all.filter((o) => o.object.kind === "Namespace")
                                 .map((o) => [o.object.metadata.name, o.object]));
  const daemonSets = all.filter((o) => o.object.kind === "DaemonSet");
  if (daemonSets.length < 2) problem("packaging/kubernetes", "the node and audit DaemonSets are expected");
  for (const { where, object } of daemonSets) checkDaemonSet(where, object, namespaces);
  if (problems.length) {
    console.error(problems.join("\n"));
    console.error(`${problems.length} problem(s) in packaging/kubernetes`);
    process.exit(1);
  }
  console.log(`${all.length} objects valid, ${daemonSets.length} DaemonSets locked down`);
}

main();
