import { PGliteDatabase } from '@strata/platform';
import { describeRegistryConformance } from './registry-conformance.testing';

describeRegistryConformance('PGlite', () => PGliteDatabase.open());
