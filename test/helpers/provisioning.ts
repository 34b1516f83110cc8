import { exampleProvisioningRequest } from '../../src/access/provisioning/example';

/** The example request, with a lower-case country (the schema normalises it). */
export const validBody = (slug = 'acme') => {
  const body = exampleProvisioningRequest(slug);
  body.enterprise_customer.country = 'us';
  return body;
};
