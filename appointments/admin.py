# Models of this app are registered with askpro.admin_sites.tenant_admin_site.
