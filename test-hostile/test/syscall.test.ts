import { hostileSuite } from "./suite.js";

hostileSuite("syscall");
