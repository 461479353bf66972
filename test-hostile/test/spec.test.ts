import { hostileSuite } from "./suite.js";

hostileSuite("spec");
