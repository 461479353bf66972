// bpf-iter CLI (filled in once the iterator API lands).
console.error("bpf-iter: not implemented yet");
process.exitCode = 1;
