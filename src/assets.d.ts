// Files embedded in the binary with `import x from "…" with { type: "text" }`.
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.default" {
  const text: string;
  export default text;
}
