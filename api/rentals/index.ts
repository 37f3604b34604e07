import type { Domain } from '../platform/domain';
import { rentalRoutes } from './routes';
import { derpRentalRoutes } from './compat-derp-rental';

export const rentalsDomain: Domain = {
  name: 'rentals',
  native: rentalRoutes,
  compat: derpRentalRoutes,
};
