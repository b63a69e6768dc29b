import { Inject } from '@nestjs/common';

/** DI tokens of the generation API, namespaced so they never collide with a host application's. */
export const MODEL_HOST = Symbol('strata.application.ModelHost');
export const METRICS_REGISTRY = Symbol('strata.application.MetricsRegistry');
export const APP_LOGGER = Symbol('strata.application.Logger');

export const InjectModelHost = (): ParameterDecorator => Inject(MODEL_HOST);
export const InjectMetricsRegistry = (): ParameterDecorator => Inject(METRICS_REGISTRY);
export const InjectAppLogger = (): ParameterDecorator => Inject(APP_LOGGER);
