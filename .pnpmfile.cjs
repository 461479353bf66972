// pnpm hooks of this workspace.
// beforePacking: what `pnpm pack` / `pnpm publish` writes as a published package's
// package.json. Development-only fields go: devDependencies name the private
// @ts-ebpf/testing and workspace tools a user never installs, and the scripts
// (build, test, prepack...) only work inside this repository. The one script a user's
// install needs stays: @ts-ebpf/syscall's `install` (node-gyp-build), which finds the
// shipped prebuild and exits, or builds from source where none fits.
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      if (pkg.scripts) {
        const install = pkg.scripts.install;
        delete pkg.scripts;
        if (install) pkg.scripts = { install };
      }
      return pkg;
    },
  },
};
