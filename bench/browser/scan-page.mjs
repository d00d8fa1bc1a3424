// The page of scan-profile-run.mjs (bundled with the built package): exposes profileScan.
import * as strata from 'strata-kv';
import { MemoryLevel } from 'memory-level';
import { StrataLevel } from 'strata-kv/level';
import { profileScan } from './scan-profile.mjs';

window.profileScan = (o) => profileScan({ strata, MemoryLevel, StrataLevel, ...o });
window.profileReady = true;
