import { hostileSuite } from "./suite.js";

hostileSuite("elf");
